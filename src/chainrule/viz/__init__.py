"""Seeing the chain rule: graph drawings, module views, recorded values, and training plots."""

from chainrule.viz.factors import Factors
from chainrule.viz.graph import Graph, GraphEdge, GraphNode, draw
from chainrule.viz.ledger import Ledger, explain
from chainrule.viz.module_view import draw_module
from chainrule.viz.plots import (
    PlottingUnavailable,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
)
from chainrule.viz.recording import record, recorded, trace
from chainrule.viz.steps import Steps, steps
