"""Optimizers and learning-rate schedules (torch.optim names and update rules)."""

from chainrule.optim import lr_scheduler
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.adam_variants import Adamax, NAdam, RAdam
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import Adadelta, RMSprop
from chainrule.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "lr_scheduler",
]
