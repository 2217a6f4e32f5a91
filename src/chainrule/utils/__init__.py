"""torch.utils's place for what chainrule has of it: `chainrule.utils.data` is `chainrule.data`,
so `from torch.utils.data import DataLoader` ports as `from chainrule.utils.data import ...`."""

from chainrule.utils import data

__all__ = ["data"]
