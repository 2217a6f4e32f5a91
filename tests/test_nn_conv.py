"""Convolution and pooling layers against torch's: parameter names, shapes and default init,
state_dicts that load into torch's modules with identical outputs and gradients, second
derivatives through a CNN, and errors raised where the mistake is made (both a ValueError and the
RuntimeError torch raises)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F


def to_torch(module: cr.nn.Module, theirs: torch.nn.Module) -> torch.nn.Module:
    """theirs with chainrule's state_dict loaded (strictly: same names and shapes)."""
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in module.state_dict().items()}
    theirs.load_state_dict(state, strict=True)
    return theirs


def same_outputs_and_grads(ours: cr.nn.Module, theirs: torch.nn.Module, shape: tuple) -> None:
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xc, xt = cr.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    yc, yt = ours(xc), theirs(xt)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(1).standard_normal(yt.shape).astype(np.float32)
    yc.backward(cr.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    ours_p, theirs_p = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert set(ours_p) == set(theirs_p)
    for name, p in ours_p.items():
        np.testing.assert_allclose(p.grad.numpy(), theirs_p[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-4, err_msg=name)  # fmt: skip


LAYERS = [
    ("conv2d", lambda m: m.Conv2d(3, 6, 3), (2, 3, 7, 6)),
    ("conv2d-options", lambda m: m.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                           dilation=(1, 2), groups=2, bias=False), (2, 4, 7, 6)),
    ("conv2d-same", lambda m: m.Conv2d(2, 3, 3, padding="same", dilation=2), (1, 2, 6, 7)),
    ("conv2d-reflect", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
     (1, 2, 5, 5)),
    ("conv2d-circular", lambda m: m.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="circular"),
     (1, 2, 5, 5)),
    ("conv2d-replicate-same", lambda m: m.Conv2d(2, 3, 4, padding="same",
                                                  padding_mode="replicate"), (1, 2, 6, 6)),
    ("conv1d", lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    ("conv1d-reflect", lambda m: m.Conv1d(2, 2, 3, padding=2, padding_mode="reflect"), (1, 2, 6)),
    ("conv_transpose2d", lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                      output_padding=1, groups=2), (2, 4, 4, 5)),
    ("conv_transpose1d", lambda m: m.ConvTranspose1d(3, 2, 4, stride=2), (2, 3, 5)),
    ("max_pool2d", lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 7, 6)),
    ("max_pool1d", lambda m: m.MaxPool1d(2), (2, 3, 8)),
    ("avg_pool2d", lambda m: m.AvgPool2d(2, padding=1, count_include_pad=False), (2, 3, 5, 5)),
    ("avg_pool1d", lambda m: m.AvgPool1d(3, 2), (2, 3, 8)),
    ("adaptive_avg_pool2d", lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    ("adaptive_avg_pool1d", lambda m: m.AdaptiveAvgPool1d(4), (2, 3, 9)),
    ("upsample-bilinear", lambda m: m.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4)),
    ("upsample-nearest", lambda m: m.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    ("zero_pad2d", lambda m: m.ZeroPad2d((1, 2, 0, 1)), (1, 2, 3, 3)),
    ("constant_pad1d", lambda m: m.ConstantPad1d(2, 3.5), (1, 2, 3)),
    ("reflection_pad2d", lambda m: m.ReflectionPad2d(2), (1, 2, 4, 4)),
    ("reflection_pad1d", lambda m: m.ReflectionPad1d((1, 3)), (1, 2, 5)),
    ("replication_pad2d", lambda m: m.ReplicationPad2d((0, 1, 2, 3)), (1, 2, 3, 3)),
    ("circular_pad2d", lambda m: m.CircularPad2d(1), (1, 2, 3, 3)),
    ("unflatten", lambda m: m.Unflatten(1, (2, -1)), (3, 8)),
]  # fmt: skip


@pytest.mark.parametrize("make, shape", [(m, s) for _, m, s in LAYERS], ids=[n for n, *_ in LAYERS])
def test_layer_matches_torch_with_the_same_state(make, shape):
    cr.manual_seed(0)
    ours = make(cr.nn)
    theirs = to_torch(ours, make(torch.nn))
    same_outputs_and_grads(ours, theirs, shape)


def test_cnn_state_dict_loads_into_the_same_torch_network():
    ours = cr.nn.CNN((1, 28, 28), 10, channels=(8, 16))
    theirs = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 28, 28)),
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip
    same_outputs_and_grads(ours, to_torch(ours, theirs), (4, 784))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda m: m.Conv2d(16, 32, 3), (32, 16, 3, 3)),
        (lambda m: m.Conv1d(8, 4, 5), (4, 8, 5)),
        (lambda m: m.ConvTranspose2d(16, 32, 3, groups=2), (16, 16, 3, 3)),
    ],
)
def test_default_init_is_torchs_kaiming_uniform(make, shape):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in = shape[1] * kernel."""
    cr.manual_seed(0)
    layer = make(cr.nn)
    assert tuple(layer.weight.shape) == shape == tuple(make(torch.nn).weight.shape)
    bound = 1 / math.sqrt(shape[1] * math.prod(shape[2:]))
    for values in (layer.weight.detach().numpy(), layer.bias.detach().numpy()):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.8 * bound  # spread over the whole interval
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.1)  # uniform's std


def test_second_derivatives_through_a_cnn_match_torch():
    """A gradient penalty: d/dw of |dL/dx|^2 goes through the backward of conv and max-pool."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 6, 6))
    ours = cr.nn.Sequential(cr.nn.Conv2d(1, 3, 3, padding=1), cr.nn.Tanh(), cr.nn.MaxPool2d(2),
                            cr.nn.Conv2d(3, 2, 2), cr.nn.Flatten()).double()  # fmt: skip
    theirs = to_torch(ours, torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.Tanh(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(3, 2, 2), torch.nn.Flatten()).double())  # fmt: skip
    xc, xt = cr.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    (gc,) = cr.autograd.grad(ours(xc).pow(2).sum(), [xc], create_graph=True)
    (gt,) = torch.autograd.grad(theirs(xt).pow(2).sum(), [xt], create_graph=True)
    (gc * gc).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(gc.detach().numpy(), gt.detach().numpy(), rtol=1e-10)
    w_c, w_t = ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy()
    assert np.abs(w_t).max() > 0  # the penalty does depend on the first layer's weight
    np.testing.assert_allclose(w_c, w_t, rtol=1e-9, atol=1e-12)


def test_upsample_warns_that_it_is_deprecated_as_torch():
    with pytest.warns(UserWarning, match="interpolate"):
        y = F.upsample(cr.ones(1, 1, 2, 2), scale_factor=2)
    assert y.shape == (1, 1, 4, 4)


# -- errors: each where the mistake is, naming op, argument and shapes; torch refuses too ------
x4 = np.zeros((1, 3, 4, 4), dtype=np.float32)
ERRORS = [
    ("kernel-larger-than-padded-input", lambda f, x: f.conv2d(x, lib_zeros(x, 2, 3, 5, 5)),
     r"conv2d: kernel of size \(5, 5\).*larger than the padded input of size \(4, 4\)"),
    ("channels-mismatch", lambda f, x: f.conv2d(x, lib_zeros(x, 2, 2, 3, 3)),
     r"conv2d: input of shape \(1, 3, 4, 4\) has 3 channels, but weight of shape \(2, 2, 3, 3\)"),
    ("out-channels-not-divisible-by-groups",
     lambda f, x: f.conv2d(x, lib_zeros(x, 5, 1, 3, 3), groups=3),
     r"conv2d: out_channels 5 .* not divisible by groups=3"),
    ("weight-of-wrong-rank", lambda f, x: f.conv2d(x, lib_zeros(x, 2, 3, 3)),
     r"conv2d: weight must be 4-D .*got shape \(2, 3, 3\)"),
    ("input-of-wrong-rank", lambda f, x: f.conv2d(x[0, 0], lib_zeros(x, 2, 3, 3, 3)),
     r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input .*got shape \(4, 4\)"),
    ("conv1d-input-of-wrong-rank", lambda f, x: f.conv1d(x, lib_zeros(x, 2, 3, 3)),
     r"conv1d: expected a 2-D \(unbatched\) or 3-D \(batched\) input .*\(1, 3, 4, 4\)"),
    ("bias-of-wrong-shape", lambda f, x: f.conv2d(x, lib_zeros(x, 2, 3, 3, 3), lib_zeros(x, 3)),
     r"conv2d: bias must have shape \(2,\)"),
    ("same-padding-with-stride",
     lambda f, x: f.conv2d(x, lib_zeros(x, 2, 3, 3, 3), stride=2, padding="same"),
     r"padding='same' is not supported for strided convolutions"),
    ("output-padding-too-large",
     lambda f, x: f.conv_transpose2d(x, lib_zeros(x, 3, 2, 3, 3), stride=2, output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than either stride"),
    ("pool-window-larger-than-input", lambda f, x: f.max_pool2d(x, 5),
     r"max_pool2d: input of shape \(1, 3, 4, 4\) is smaller than the pooling window \(5, 5\)"),
    ("avg-pool-window-larger-than-input", lambda f, x: f.avg_pool2d(x, (2, 5)),
     r"avg_pool2d: input of shape .* smaller than the pooling window \(2, 5\)"),
    ("pool-padding-more-than-half-kernel", lambda f, x: f.max_pool2d(x, 3, padding=2),
     r"max_pool2d: padding \(2, 2\) must be at most half the kernel size \(3, 3\)"),
    ("pool-input-of-wrong-rank", lambda f, x: f.max_pool1d(x, 2),
     r"max_pool1d: expected a 2-D \(unbatched\) or 3-D \(batched\) input"),
    ("non-positive-stride", lambda f, x: f.conv2d(x, lib_zeros(x, 2, 3, 3, 3), stride=0),
     r"conv2d: stride must be positive, got 0"),
    ("reflect-pad-too-large", lambda f, x: f.pad(x, (4, 0, 0, 0), mode="reflect"),
     r"pad: reflect padding \(4, 0, 0, 0\) .*smaller than the size of its dim \(4\)"),
    ("fold-blocks-mismatch", lambda f, x: f.fold(x.reshape(1, 12, 4)[:, :, :3], (3, 3), 2),
     r"fold: output_size \(3, 3\) .* has 2 \* 2 sliding blocks, but input of shape \(1, 12, 3\)"),
]  # fmt: skip


def lib_zeros(like, *shape):
    return (torch if isinstance(like, torch.Tensor) else cr).zeros(*shape)


@pytest.mark.parametrize("fn, message", [(f, m) for _, f, m in ERRORS], ids=[n for n, *_ in ERRORS])
def test_errors_name_op_argument_and_shapes_where_torch_refuses_too(fn, message):
    with pytest.raises(RuntimeError, match=message) as caught:
        fn(F, cr.tensor(x4))
    assert isinstance(caught.value, ValueError)  # Python's habit as well as torch's
    with pytest.raises(RuntimeError):
        fn(torch.nn.functional, torch.from_numpy(x4))


def test_layer_constructor_errors():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels 3 and out_channels 4 must both be "
                                         r"divisible by groups=2"):  # fmt: skip
        cr.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        cr.nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"Unflatten: unflattened_size \(3, 3\) does not fit"):
        cr.nn.Unflatten(1, (3, 3))(cr.zeros(2, 8))
