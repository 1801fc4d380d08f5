"""The same recurrence as nn.RNN / nn.GRU / nn.LSTM, written step by step for a large-batch ONNX graph.

ONNX Runtime's native RNN and GRU kernels scale poorly with the batch on CPU, while a graph of Gemm and
element-wise nodes runs on MLAS's threaded matrix multiply. This module computes what the wrapped torch
module computes, arranged so that the exported graph has few nodes per time step:

- each step's gate pre-activation is one Gemm over the concatenated [x_t, h_{t-1}] (K = inputs + hidden),
  both biases folded in, and ONNX Runtime fuses the Sigmoid or Tanh that follows into that Gemm;
- gates with the same activation are one block (GRU: r and z; LSTM: i, f and o), split after it;
- step 0 skips the recurrent term (h0 = 0); no per-layer output sequence is materialised, each step's
  state feeds the next layer directly.

Only the final hidden state of each direction of the last layer is returned: all ``RecurrentForecaster``
reads.
"""

from __future__ import annotations

import torch
from torch import nn


class UnrolledRecurrence(nn.Module):
    """Wraps a trained nn.RNN/GRU/LSTM (batch_first); forward(x) -> (None, h_last (dirs, B, H))."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        if isinstance(rnn, nn.LSTM):
            self.cell = "lstm"
        elif isinstance(rnn, nn.GRU):
            self.cell = "gru"
        elif isinstance(rnn, nn.RNN) and rnn.nonlinearity == "tanh":
            self.cell = "rnn"
        else:
            raise TypeError(f"cannot unroll {type(rnn).__name__}")
        self.layers = int(rnn.num_layers)
        self.dirs = 2 if rnn.bidirectional else 1
        H = self.hidden = int(rnn.hidden_size)
        # Gate blocks by their rows in torch's stacked weights (gru: r, z, n; lstm: i, f, g, o).
        blocks = {
            "rnn": {"a": torch.arange(H)},
            "gru": {"rz": torch.arange(2 * H)},
            "lstm": {
                "s": torch.cat([torch.arange(2 * H), torch.arange(3 * H, 4 * H)]),
                "g": torch.arange(2 * H, 3 * H),
            },
        }[self.cell]
        for layer in range(self.layers):
            for d in range(self.dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih = getattr(rnn, "weight_ih" + sfx).detach()
                w_hh = getattr(rnn, "weight_hh" + sfx).detach()
                b_ih = getattr(rnn, "bias_ih" + sfx).detach()
                b_hh = getattr(rnn, "bias_hh" + sfx).detach()
                bufs: dict[str, torch.Tensor] = {}
                for key, rows in blocks.items():
                    bufs[f"w_{key}"] = torch.cat([w_ih[rows], w_hh[rows]], dim=1).t()
                    bufs[f"w_x_{key}"] = w_ih[rows].t()
                    bufs[f"b_{key}"] = b_ih[rows] + b_hh[rows]
                if self.cell == "gru":  # n's recurrent term is multiplied by r: its own Gemms
                    n = torch.arange(2 * H, 3 * H)
                    bufs.update({"w_xn": w_ih[n].t(), "b_xn": b_ih[n], "w_hn": w_hh[n].t(), "b_hn": b_hh[n]})
                for name, value in bufs.items():
                    self.register_buffer(name + sfx, value.contiguous().clone())
                self.weight_names = tuple(bufs)

    def forward(self, x: torch.Tensor) -> tuple[None, torch.Tensor]:
        inputs = list(torch.unbind(x, dim=1))  # L x (B, C)
        finals: list[torch.Tensor] = []
        for layer in range(self.layers):
            finals, outs = [], []
            for d in range(self.dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w = {name: getattr(self, name + sfx) for name in self.weight_names}
                hs = self._run(inputs[::-1] if d else inputs, w)
                finals.append(hs[-1])
                outs.append(hs[::-1] if d else hs)
            inputs = outs[0] if self.dirs == 1 else [torch.cat(pair, dim=1) for pair in zip(*outs, strict=True)]
        return None, torch.stack(finals)

    def _run(self, inputs: list[torch.Tensor], w: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """One direction of one layer over all steps; returns every step's hidden state."""
        H = self.hidden
        hs: list[torch.Tensor] = []
        h = c = inputs[0]  # placeholders: step 0 has no recurrent term (h0 = c0 = 0)
        for t, x_t in enumerate(inputs):
            xh = x_t if t == 0 else torch.cat([x_t, h], dim=1)
            if self.cell == "rnn":
                h = torch.tanh(self._pre(w, "a", xh, t))
            elif self.cell == "gru":
                x_n = torch.addmm(w["b_xn"], x_t, w["w_xn"])
                r, z = torch.split(torch.sigmoid(self._pre(w, "rz", xh, t)), H, dim=1)
                if t == 0:
                    n = torch.tanh(x_n + r * w["b_hn"])
                    h = n - z * n
                else:
                    n = torch.tanh(x_n + r * torch.addmm(w["b_hn"], h, w["w_hn"]))
                    h = n + z * (h - n)
            else:
                i, f, o = torch.split(torch.sigmoid(self._pre(w, "s", xh, t)), H, dim=1)
                g = torch.tanh(self._pre(w, "g", xh, t))
                c = i * g if t == 0 else f * c + i * g
                h = o * torch.tanh(c)
            hs.append(h)
        return hs

    @staticmethod
    def _pre(w: dict[str, torch.Tensor], key: str, xh: torch.Tensor, t: int) -> torch.Tensor:
        """Pre-activation of one gate block: [x_t, h] W + b, or x_t W_x + b at step 0 (where h = 0)."""
        return torch.addmm(w["b_" + key], xh, w[("w_x_" if t == 0 else "w_") + key])
