"""Seeing the chain rule: plots of training (and, later, graph drawings and ledgers)."""

from chainrule.viz.plots import (
    PlottingUnavailable,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
)
