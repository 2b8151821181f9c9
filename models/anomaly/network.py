"""The LSTM forecaster: from the recent past, the next row's mean and spread per column.

Inputs are columns already normalised by the warm-up ``RobustScaler``. Each context is
re-expressed around its own per-column median and spread (MAD) over ``context`` steps
before the last ``window`` steps enter the LSTM, and the forecast is that level plus a
learned deviation, in units of that spread. The network so models the shape of the series
around its recent level: a persistent shift (a new country mix, executables now attached)
stops being a surprise once it fills half the context, with its new noise level, while a
burst shorter than that moves neither median nor MAD, so the return to normal after it is
no surprise either. The head also predicts a standard deviation per column (Gaussian
negative log-likelihood), so quiet night hours, where rates over a handful of messages are
noisy, get wider bands than busy afternoons.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

INPUT_CLIP = 10.0  # normalised units: an incident must not saturate the LSTM state
TARGET_CLIP = 20.0  # warm-up outliers must not dominate the loss
SIGMA_FLOOR = 0.05  # in units of the context spread
# Normalised units: a column flat over the context (no executables, ever) still gets a
# spread, so its first change is far out but finite.
SPREAD_FLOOR = 0.5


class Samples(NamedTuple):
    """Forecasting samples: what the network sees and the row it must forecast."""

    context: np.ndarray  # (B, L, F) the last L normalised rows
    lagged: np.ndarray  # (B, W, F) one season earlier than each step after the window's
    calendar: np.ndarray  # (B, W, C) calendar of the window's last W rows
    next_calendar: np.ndarray  # (B, C) calendar of the forecast step
    target: np.ndarray  # (B, F) the row to forecast (NaN where missing)

    def select(self, rows: np.ndarray | slice) -> Samples:
        return Samples(*(a[rows] for a in self))


class Forecaster(nn.Module):
    """LSTM over (deviation from the context level, the season before, calendar) -> next-step
    mean and sigma."""

    def __init__(
        self,
        n_features: int,
        n_calendar: int,
        hidden_size: int,
        window: int,
        noise_floor: tuple[float, ...] = (),
        exposure: int = -1,
    ) -> None:
        """``noise_floor``: per column, the least sigma it may be forecast with (normalised
        units), for columns whose noise is known (Poisson scores: about 1).

        ``exposure``: index of a column that drives the others (the volume sent: a
        campaign hour reaches more countries). The other columns are forecast knowing its
        value at the forecast step; it is forecast from the past alone (-1: none).
        """
        super().__init__()
        self.n_features = n_features
        self.window = window
        self.exposure = exposure
        floor = torch.tensor(noise_floor or (0.0,) * n_features, dtype=torch.float32)
        self.noise_floor: torch.Tensor
        self.register_buffer("noise_floor", floor, persistent=False)
        self.lstm = nn.LSTM(2 * n_features + 1 + n_calendar, hidden_size, batch_first=True)
        # How much of last season's value carries over, per column: one weight is learnt
        # from a handful of weekly campaigns where a whole network would not be.
        self.season_weight = nn.Parameter(torch.full((n_features,), 0.5))
        summary = hidden_size + n_calendar + 3 * n_features + 1
        with_exposure = 1 if exposure >= 0 else 0
        self.head = nn.Sequential(
            nn.Linear(summary + with_exposure, hidden_size),
            nn.Tanh(),
            nn.Linear(hidden_size, 2 * n_features),
        )
        if exposure >= 0:
            self.exposure_head = nn.Sequential(
                nn.Linear(summary, hidden_size), nn.Tanh(), nn.Linear(hidden_size, 2)
            )

    def forward(
        self,
        context: torch.Tensor,
        lagged: torch.Tensor,
        calendar: torch.Tensor,
        next_calendar: torch.Tensor,
        target: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forecast mean and standard deviation, each (B, F), in normalised units.

        Shapes as in ``Samples``; ``lagged`` is NaN where the series is not a season old;
        ``target`` (the forecast step's row) is read only for the exposure column.
        """
        level = context.median(dim=1).values
        spread = (context - level[:, None, :]).abs().median(dim=1).values * 1.4826
        spread = spread.clamp(min=SPREAD_FLOOR)

        def relative(x: torch.Tensor) -> torch.Tensor:
            return ((x - level[:, None, :]) / spread[:, None, :]).clamp(-INPUT_CLIP, INPUT_CLIP)

        known = (~torch.isnan(lagged)).all(dim=2, keepdim=True)
        season = torch.where(known, relative(torch.nan_to_num(lagged)), 0.0)
        recent = relative(context[:, -self.window :])
        steps = torch.cat([recent, season, known.float(), calendar], dim=2)
        out, _ = self.lstm(steps)
        squashed_level = torch.tanh(level / INPUT_CLIP) * INPUT_CLIP
        # The season's value at the forecast step goes to the head directly too.
        summary = torch.cat(
            [
                out[:, -1],
                next_calendar,
                squashed_level,
                torch.log(spread),
                season[:, -1],
                known[:, -1].float(),
            ],
            dim=1,
        )
        if self.exposure >= 0:
            e = self.exposure
            now = torch.zeros_like(level[:, e]) if target is None else target[:, e]
            now = torch.where(torch.isnan(now), level[:, e], now)
            now_dev = ((now - level[:, e]) / spread[:, e]).clamp(-INPUT_CLIP, INPUT_CLIP)
            head = self.head(torch.cat([summary, now_dev[:, None]], dim=1))
            own = self.exposure_head(summary)
            head = torch.cat(
                [
                    head[:, :e],
                    own[:, :1],
                    head[:, e + 1 : self.n_features + e],
                    own[:, 1:],
                    head[:, self.n_features + e + 1 :],
                ],
                dim=1,
            )
        else:
            head = self.head(summary)
        mean_dev, raw_sigma = head.split(self.n_features, dim=1)
        mean_dev = mean_dev + self.season_weight * season[:, -1]
        sigma = (nn.functional.softplus(raw_sigma) + SIGMA_FLOOR) * spread
        sigma = torch.sqrt(sigma**2 + self.noise_floor**2)
        return level + mean_dev * spread, sigma


def windows(
    values: np.ndarray,
    calendar: np.ndarray,
    context: int,
    window: int,
    lag: int = 0,
    seasonal: np.ndarray | None = None,
) -> Samples:
    """One sample per row that has ``context`` rows before it.

    ``lag`` is the season in steps (0: none); for each step of the window the sample holds
    the row one season before the step's successor, so its last lagged row is the
    forecast step's value one season ago, and none is more recent than that. Lagged rows
    are read from ``seasonal`` (default ``values``), where the scorer has replaced alerted
    rows by their forecasts, so that an incident does not echo one season later.
    """
    n = max(len(values) - context, 0)
    f, c = values.shape[1], calendar.shape[1]
    targets = np.arange(context, context + n)
    ctx_idx = targets[:, None] - context + np.arange(context)[None, :]
    win_idx = targets[:, None] - window + np.arange(window)[None, :]
    source = values if seasonal is None else seasonal
    padded = np.concatenate([np.full((1, f), np.nan), source]).astype(np.float32)
    lag_idx = win_idx + 1 - lag
    lagged = padded[np.where((lag_idx >= 0) & (lag > 0), lag_idx + 1, 0)]
    return Samples(
        values[ctx_idx].astype(np.float32).reshape(n, context, f),
        lagged.reshape(n, window, f),
        calendar[win_idx].astype(np.float32).reshape(n, window, c),
        calendar[targets].astype(np.float32).reshape(n, c),
        values[targets].astype(np.float32).reshape(n, f),
    )


def gaussian_nll(mean: torch.Tensor, sigma: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood, ignoring missing targets (NaN)."""
    present = ~torch.isnan(target)
    target = torch.where(present, target, mean.detach()).clamp(-TARGET_CLIP, TARGET_CLIP)
    nll = torch.log(sigma) + 0.5 * ((target - mean) / sigma) ** 2
    return (nll * present).sum() / present.sum().clamp(min=1)


def fit(
    model: Forecaster,
    data: Samples,
    *,
    epochs: int,
    seed: int,
    lr: float = 3e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    validation: Samples | None = None,
) -> list[float]:
    """Train ``model`` in place on ``windows(...)`` samples; returns the loss per epoch.

    With ``validation`` samples, the weights of the epoch with the best validation loss
    are kept (early stopping): a few weeks of warm-up are a few hundred samples, and
    longer training makes the forecaster confident about noise it memorised.
    """
    tensors = _tensors(data)
    y = tensors[4]
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses: list[float] = []
    best, best_state = float("inf"), None
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for batch in order.split(batch_size):
            mean, sigma = model(*(t[batch] for t in tensors))
            loss = gaussian_nll(mean, sigma, y[batch])
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / max(len(y), 1))
        if validation is not None and len(validation.target):
            model.eval()
            held_out = _tensors(validation)
            with torch.no_grad():
                held_mean, held_sigma = model(*held_out)
                val = float(gaussian_nll(held_mean, held_sigma, held_out[4]))
            if val < best:
                best, best_state = val, copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return losses


def _tensors(data: Samples) -> list[torch.Tensor]:
    tensors = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in data]
    tensors[0] = torch.nan_to_num(tensors[0])  # a missing input reads as the series' median
    return tensors


def predict(model: Forecaster, data: Samples) -> tuple[np.ndarray, np.ndarray]:
    """Forecast mean and sigma for a batch of samples (of the target, only the exposure)."""
    with torch.no_grad():
        mean, sigma = model(*_tensors(data))
    return mean.numpy(), sigma.numpy()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` threads inside the block (the CPU is shared), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
