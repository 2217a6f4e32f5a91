"""Training: fit/evaluate, callbacks, progress, metrics and resumable checkpoints."""

from chainrule.train.callbacks import Callback, EarlyStopping, ModelCheckpoint
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.fit import History, Trainer, evaluate, fit
from chainrule.train.metrics import accuracy, confusion_matrix, predictions
from chainrule.train.progress import Progress
