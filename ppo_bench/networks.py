"""Policy and value MLPs for K independent members at once: every weight has a leading member axis [K, ...].

torch.nn has no layer with a member axis (torch.func.vmap over stacked modules is slower than batched matmuls at
these sizes on a CPU), so the two MLPs are written out: one baddbmm per layer serves all K members.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def mlp(x: Tensor, weights: list[Tensor], biases: list[Tensor]) -> Tensor:
    """tanh MLP with a linear last layer. x [K, B, in]; weights[i] [K, in_i, out_i]; biases[i] [K, 1, out_i]."""
    for i, (w, b) in enumerate(zip(weights, biases)):
        x = torch.baddbmm(b, x, w)
        if i < len(weights) - 1:
            x = torch.tanh(x)
    return x


def _init_weight(shape: tuple[int, int], scheme: str, gain: float, generator: torch.Generator) -> Tensor:
    fan_in, fan_out = shape
    if scheme == "normc":  # 2017 code: Gaussian columns rescaled to norm `gain`
        w = torch.randn(fan_in, fan_out, generator=generator, dtype=torch.float64)
        return (w * gain / w.square().sum(0, keepdim=True).sqrt()).float()
    w = torch.empty(fan_out, fan_in)
    nn.init.orthogonal_(w, gain=gain, generator=generator)
    return w.T.contiguous()


class ActorCritic(nn.Module):
    """K Gaussian policies (MLP mean, state-independent log-std) and K separate value MLPs."""

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: tuple[int, ...], init: str,
                 generators: list[torch.Generator]):
        super().__init__()
        sizes = [obs_dim, *hidden_sizes]
        hidden_gain = 1.0 if init == "normc" else math.sqrt(2)

        def layers(out_dim: int, head_gain: float) -> tuple[nn.ParameterList, nn.ParameterList]:
            shapes = list(zip(sizes, sizes[1:])) + [(sizes[-1], out_dim)]
            gains = [hidden_gain] * len(hidden_sizes) + [head_gain]
            weights = [torch.stack([_init_weight(shape, init, gain, g) for g in generators])
                       for shape, gain in zip(shapes, gains)]
            biases = [torch.zeros(len(generators), 1, out) for _, out in shapes]
            return nn.ParameterList(weights), nn.ParameterList(biases)

        self.policy_weights, self.policy_biases = layers(act_dim, 0.01)
        self.value_weights, self.value_biases = layers(1, 1.0)
        self.log_std = nn.Parameter(torch.zeros(len(generators), act_dim))
        # plain lists of the same Parameters: indexing a ParameterList costs more than the matmuls at these sizes
        self._policy = (list(self.policy_weights), list(self.policy_biases))
        self._value = (list(self.value_weights), list(self.value_biases))

    def policy_mean(self, obs: Tensor) -> Tensor:
        """obs [K, B, obs_dim] -> action means [K, B, act_dim]."""
        return mlp(obs, *self._policy)

    def value(self, obs: Tensor) -> Tensor:
        """obs [K, B, obs_dim] -> values [K, B]."""
        return mlp(obs, *self._value).squeeze(-1)

    def member_norms(self, grads: bool) -> Tensor:
        """Per-member L2 norm over all parameters (or their gradients): [K]. Members never share a norm."""
        total = 0.0
        for p in self.parameters():
            t = p.grad if grads else p
            total = total + t.detach().square().flatten(1).sum(1)
        return torch.sqrt(total)
