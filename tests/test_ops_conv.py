"""Convolution, pooling, resampling and padding against PyTorch and finite differences (one line
per case, see helpers.check_op): forward, the gradient of a random upstream gradient,
gradcheck, and gradgradcheck (the backward of every op here is a composition of differentiable
ops, so second derivatives are checked for all of them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import Case, case, lib


def F(x: Any) -> Any:
    """torch.nn.functional or chainrule.nn.functional, whichever owns x."""
    return lib(x).nn.functional


def conv(name: str, **kw: Any) -> Any:
    return lambda x, w, b=None: getattr(F(x), name)(x, w, b, **kw)


def call(name: str, *args: Any, **kw: Any) -> Any:
    return lambda x: getattr(F(x), name)(x, *args, **kw)


# torch warns that an even kernel with padding='same' pads a copy of the input (so do we)
TORCH_SAME_WARNS = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

CONV_CASES = [
    case("conv2d-basic", [(2, 3, 5, 5), (4, 3, 3, 3), (4,)], conv("conv2d"), float32=True),
    case("conv2d-no-bias", [(2, 3, 5, 4), (2, 3, 2, 3)], conv("conv2d")),
    case("conv2d-stride-padding", [(1, 2, 6, 5), (3, 2, 3, 3), (3,)],
         conv("conv2d", stride=2, padding=1)),
    case("conv2d-tuples-dilation", [(1, 2, 7, 6), (3, 2, 2, 3), (3,)],
         conv("conv2d", stride=(1, 2), padding=(2, 1), dilation=(2, 1))),
    case("conv2d-groups", [(1, 4, 5, 4), (6, 2, 3, 2), (6,)], conv("conv2d", groups=2)),
    case("conv2d-depthwise", [(2, 3, 4, 4), (3, 1, 3, 3)], conv("conv2d", groups=3, padding=1)),
    case("conv2d-same-even-kernel", [(1, 2, 5, 6), (3, 2, 2, 4), (3,)],
         conv("conv2d", padding="same"), marks=TORCH_SAME_WARNS),
    case("conv2d-same-dilated", [(1, 1, 6, 6), (2, 1, 3, 3)],
         conv("conv2d", padding="same", dilation=2)),
    case("conv2d-valid", [(1, 2, 4, 4), (2, 2, 3, 3)], conv("conv2d", padding="valid")),
    case("conv2d-unbatched", [(2, 4, 5), (3, 2, 3, 3), (3,)], conv("conv2d", padding=1)),
    case("conv2d-1x1", [(2, 3, 3, 3), (5, 3, 1, 1), (5,)], conv("conv2d")),
    case("conv1d-basic", [(2, 3, 7), (4, 3, 3), (4,)], conv("conv1d"), float32=True),
    case("conv1d-stride-padding-dilation", [(2, 2, 9), (3, 2, 3), (3,)],
         conv("conv1d", stride=2, padding=2, dilation=2)),
    case("conv1d-groups-same", [(1, 4, 6), (4, 2, 4)], conv("conv1d", groups=2, padding="same")),
    case("conv1d-unbatched", [(3, 6), (2, 3, 2), (2,)], conv("conv1d", stride=(2,))),
    case("conv_transpose2d-basic", [(2, 3, 3, 4), (3, 2, 3, 3), (2,)],
         conv("conv_transpose2d"), float32=True),
    case("conv_transpose2d-stride-output-padding", [(1, 2, 3, 3), (2, 3, 3, 2), (3,)],
         conv("conv_transpose2d", stride=2, padding=1, output_padding=1)),
    case("conv_transpose2d-tuples-dilation", [(1, 2, 3, 2), (2, 2, 2, 3)],
         conv("conv_transpose2d", stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
              dilation=(1, 2))),
    case("conv_transpose2d-groups", [(1, 4, 3, 3), (4, 1, 2, 2), (2,)],
         conv("conv_transpose2d", stride=2, groups=2)),
    case("conv_transpose2d-output-padding-beyond-stride", [(1, 1, 3, 3), (1, 2, 3, 3)],
         conv("conv_transpose2d", output_padding=1, dilation=2)),
    case("conv_transpose2d-unbatched", [(2, 3, 3), (2, 2, 2, 2), (2,)],
         conv("conv_transpose2d", stride=2)),
    case("conv_transpose1d-stride-output-padding", [(2, 3, 4), (3, 2, 3), (2,)],
         conv("conv_transpose1d", stride=3, padding=1, output_padding=2)),
]  # fmt: skip

UNFOLD_CASES = [
    case("unfold-basic", [(2, 3, 4, 5)], call("unfold", 2), float32=True),
    case("unfold-params", [(1, 2, 6, 5)],
         call("unfold", (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))),
    case("unfold-unbatched", [(2, 4, 4)], call("unfold", 3, padding=1)),
    case("fold-basic", [(2, 12, 9)], call("fold", (4, 4), 2), float32=True),
    case("fold-overlapping-params", [(1, 12, 18)],
         call("fold", (5, 6), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))),
    case("fold-unbatched", [(8, 6)], call("fold", (3, 4), 2)),
]  # fmt: skip

POOL_CASES = [
    case("max_pool2d-2", [(2, 3, 4, 6)], call("max_pool2d", 2), float32=True),
    case("max_pool2d-3-stride-2-padding-ceil", [(1, 2, 6, 7)],
         call("max_pool2d", 3, stride=2, padding=1, ceil_mode=True)),
    case("max_pool2d-overlapping-dilation", [(1, 2, 7, 6)],
         call("max_pool2d", (2, 3), stride=1, dilation=(2, 1))),
    case("max_pool2d-return-indices", [(2, 2, 5, 5)],
         call("max_pool2d", 2, stride=(2, 1), padding=1, return_indices=True)),
    case("max_pool2d-unbatched", [(3, 4, 4)], call("max_pool2d", 2, 1)),
    case("max_pool1d-basic", [(2, 3, 8)], call("max_pool1d", 2), float32=True),
    case("max_pool1d-ceil-indices", [(1, 2, 9)],
         call("max_pool1d", 3, 2, 1, ceil_mode=True, return_indices=True)),
    case("max_pool1d-unbatched-dilation", [(2, 9)], call("max_pool1d", 3, 1, dilation=3)),
    case("avg_pool2d-2", [(2, 3, 4, 6)], call("avg_pool2d", 2), float32=True),
    case("avg_pool2d-padding-ceil", [(1, 2, 6, 7)],
         call("avg_pool2d", 3, stride=2, padding=1, ceil_mode=True)),
    case("avg_pool2d-exclude-padding", [(1, 2, 5, 6)],
         call("avg_pool2d", (3, 2), stride=(2, 1), padding=1, count_include_pad=False)),
    case("avg_pool2d-exclude-padding-ceil", [(1, 1, 6, 6)],
         call("avg_pool2d", 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    case("avg_pool2d-divisor-override", [(1, 2, 4, 4)],
         call("avg_pool2d", 2, 1, divisor_override=3)),
    case("avg_pool2d-unbatched", [(2, 4, 4)], call("avg_pool2d", 2)),
    case("avg_pool1d-basic", [(2, 3, 8)], call("avg_pool1d", 3, 2, 1), float32=True),
    case("avg_pool1d-exclude-ceil", [(1, 2, 7)],
         call("avg_pool1d", 2, 2, 1, ceil_mode=True, count_include_pad=False)),
    case("adaptive_avg_pool2d-uneven", [(2, 3, 5, 7)], call("adaptive_avg_pool2d", (2, 3)),
         float32=True),
    case("adaptive_avg_pool2d-none-and-int", [(1, 2, 4, 5)],
         call("adaptive_avg_pool2d", (None, 3))),
    case("adaptive_avg_pool2d-global", [(2, 3, 3, 4)], call("adaptive_avg_pool2d", 1)),
    case("adaptive_avg_pool2d-upsizing", [(1, 1, 2, 3)], call("adaptive_avg_pool2d", (3, 5))),
    case("adaptive_avg_pool2d-unbatched", [(2, 4, 6)], call("adaptive_avg_pool2d", 3)),
    case("adaptive_avg_pool1d-uneven", [(2, 3, 7)], call("adaptive_avg_pool1d", 3)),
]  # fmt: skip

RESAMPLE_CASES = [
    case("interpolate-nearest-scale-2", [(1, 2, 3, 4)], call("interpolate", scale_factor=2),
         float32=True),
    case("interpolate-nearest-size", [(1, 2, 3, 4)], call("interpolate", size=(7, 5))),
    case("interpolate-nearest-down", [(1, 1, 7, 6)], call("interpolate", size=(3, 4))),
    case("interpolate-nearest-fractional-scale", [(1, 1, 4, 5)],
         call("interpolate", scale_factor=(1.5, 0.7))),
    case("interpolate-bilinear-size", [(2, 2, 3, 4)],
         call("interpolate", size=(5, 7), mode="bilinear"), float32=True),
    case("interpolate-bilinear-align-corners", [(1, 2, 3, 4)],
         call("interpolate", size=(6, 5), mode="bilinear", align_corners=True)),
    case("interpolate-bilinear-scale", [(1, 1, 4, 4)],
         call("interpolate", scale_factor=1.5, mode="bilinear")),
    case("interpolate-bilinear-down", [(1, 1, 6, 7)],
         call("interpolate", size=(3, 2), mode="bilinear")),
    case("interpolate-bilinear-recompute-scale", [(1, 1, 4, 5)],
         call("interpolate", scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    case("interpolate-linear-1d", [(2, 3, 5)], call("interpolate", size=8, mode="linear")),
    case("interpolate-linear-1d-align-corners", [(1, 2, 5)],
         call("interpolate", scale_factor=2, mode="linear", align_corners=True)),
    case("interpolate-nearest-1d", [(2, 3, 5)], call("interpolate", scale_factor=3)),
]  # fmt: skip

PAD_CASES = [
    case("pad-constant-last-dim", [(3, 4)], call("pad", (1, 2)), float32=True),
    case("pad-constant-value-three-dims", [(2, 3, 4)], call("pad", (1, 0, 0, 2, 1, 1), value=1.5)),
    case("pad-constant-negative-crops", [(2, 3, 5, 4)], call("pad", (-1, 2, 1, -2))),
    case("pad-constant-all-dims-of-1d", [(5,)], call("pad", (2, 3), "constant", -1.0)),
    case("pad-reflect-2d", [(2, 3, 4, 5)], call("pad", (1, 2, 3, 1), mode="reflect"),
         float32=True),
    case("pad-reflect-1d", [(2, 5)], call("pad", (4, 2), mode="reflect")),
    case("pad-replicate-2d", [(1, 2, 3, 4)], call("pad", (2, 3, 4, 1), mode="replicate")),
    case("pad-replicate-1d", [(2, 3, 3)], call("pad", (3, 1), mode="replicate")),
    case("pad-circular-2d", [(1, 2, 3, 4)], call("pad", (4, 1, 3, 2), mode="circular")),
    case("pad-circular-3d", [(1, 1, 2, 3, 3)], call("pad", (1, 1, 2, 0, 1, 2), mode="circular")),
]  # fmt: skip

CASES: list[Case] = [*CONV_CASES, *UNFOLD_CASES, *POOL_CASES, *RESAMPLE_CASES, *PAD_CASES]
# Public functions of chainrule.ops -> case id: this area adds none to chainrule.ops (its
# functions are chainrule.nn.functional's, each called by the cases above).
PUBLIC_CASES: dict[str, str] = {}


@pytest.mark.parametrize("c", [c.param() for c in CASES])
def test_op(c: Case) -> None:
    c.run(gradgradcheck=True)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_max_pool_ties_go_to_the_first_maximum_as_in_torch():
    import torch

    import chainrule as cr

    x = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    _, index = cr.nn.functional.max_pool2d(cr.tensor(x, requires_grad=True), 2,
                                                return_indices=True)  # fmt: skip
    _, torch_index = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert index.item() == torch_index.item() == 0


def test_max_pool_nan_wins_and_its_index_is_torchs():
    import torch

    import chainrule as cr

    x = np.array([[[[1.0, np.nan, 3.0], [np.nan, 2.0, 3.0], [0.0, 5.0, 5.0]]]])
    for k, s in [(2, 1), (3, 1), (2, 2)]:
        ours = cr.nn.functional.max_pool2d(cr.tensor(x), k, s, ceil_mode=True, return_indices=True)
        theirs = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, ceil_mode=True,
                                                return_indices=True)  # fmt: skip
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
