"""The unrolled recurrence used for large batches computes exactly what torch's RNN modules compute."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from tsrnn.model.unrolled import UnrolledRecurrence

CASES = list(itertools.product([nn.RNN, nn.GRU, nn.LSTM], [False, True], [1, 3], [1, 4]))


@pytest.mark.parametrize(
    ("cls", "bi", "layers", "inputs"), CASES, ids=[f"{c.__name__}-{'bi' * b}{n}-in{i}" for c, b, n, i in CASES]
)
def test_final_states_match_torch(cls: type[nn.Module], bi: bool, layers: int, inputs: int) -> None:
    torch.manual_seed(0)
    rnn = cls(inputs, 16, num_layers=layers, bidirectional=bi, batch_first=True).eval()
    x = torch.randn(5, 9, inputs)
    with torch.no_grad():
        _, state = rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        _, got = UnrolledRecurrence(rnn)(x)
    dirs = 2 if bi else 1
    assert got.shape == (dirs, 5, 16)
    torch.testing.assert_close(got, h_n[-dirs:], rtol=1e-5, atol=1e-5)


def test_relu_rnn_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot unroll"):
        UnrolledRecurrence(nn.RNN(1, 4, nonlinearity="relu"))
