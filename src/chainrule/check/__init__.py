"""Checking derivations (`cr.check`): a hand-derived gradient or Jacobian against autodiff and
finite differences (`derivation`), and a failing gradient traced to the first primitive whose
backward disagrees with its own forward (`per_node`, `gradcheck`)."""

from chainrule.check.derivation_check import derivation
from chainrule.check.node_check import NodeCheck, NodeReport, gradcheck, per_node
from chainrule.check.report import Mismatch, PointResult, Report, Summary

__all__ = [
    "Mismatch",
    "NodeCheck",
    "NodeReport",
    "PointResult",
    "Report",
    "Summary",
    "derivation",
    "gradcheck",
    "per_node",
]
