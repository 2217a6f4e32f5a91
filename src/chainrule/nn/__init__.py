"""Neural networks: Module, Parameter, layers, losses, init, functional (PyTorch's names)."""

from chainrule.nn import functional, init, parallel
from chainrule.nn.layers import (
    MLP,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from chainrule.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)

# -- issue 12 exports: conv --
from chainrule.nn.conv import CNN, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Unflatten
from chainrule.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    MaxPool1d,
    MaxPool2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    Upsample,
    ZeroPad1d,
    ZeroPad2d,
)
# -- end conv --
# -- issue 12 exports: nn-functional --
# isort: split
from chainrule.nn.activations import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PReLU,
    ReLU6,
    RReLU,
    SiLU,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from chainrule.nn.containers import ModuleDict, ParameterDict, ParameterList
from chainrule.nn.losses_more import (
    AlphaDropout,
    CosineEmbeddingLoss,
    CosineSimilarity,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    FeatureAlphaDropout,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PairwiseDistance,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)

# isort: split
# -- end nn-functional --
# -- issue 12 exports: nn-layers --
# isort: split
from chainrule.nn.attention import MultiheadAttention
from chainrule.nn.embedding import Embedding
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm
from chainrule.nn.transformer import TransformerEncoder, TransformerEncoderLayer

# isort: split
# -- end nn-layers --
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.utils import clip_grad_norm_

__all__ = [
    # -- issue 12 names: conv --
    "CNN",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "CircularPad2d",
    "ConstantPad1d",
    "ConstantPad2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "Unflatten",
    "Upsample",
    "ZeroPad1d",
    "ZeroPad2d",
    # -- end conv --
    # -- issue 12 names: nn-functional --
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LogSigmoid",
    "Mish",
    "PReLU",
    "ReLU6",
    "RReLU",
    "SiLU",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "ModuleDict",
    "ParameterDict",
    "ParameterList",
    "AlphaDropout",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "MarginRankingLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "PairwiseDistance",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    # -- end nn-functional --
    # -- issue 12 names: nn-layers --
    "BatchNorm1d",
    "BatchNorm2d",
    "Embedding",
    "GroupNorm",
    "LayerNorm",
    "MultiheadAttention",
    "RMSNorm",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    # -- end nn-layers --
    "MLP",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Flatten",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "clip_grad_norm_",
    "functional",
    "init",
    "parallel",
]
