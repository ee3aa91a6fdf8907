"""Temperature statistics with NumPy; a chart with matplotlib."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def summary(temps):
    """{"mean", "std", "min", "max"} of temps, as floats."""
    t = np.asarray(temps, dtype=float)
    return {"mean": float(t.mean()), "std": float(t.std()), "min": float(t.min()),
            "max": float(t.max())}


def moving_average(temps, window):
    """The mean of every run of window consecutive values."""
    t = np.asarray(temps, dtype=float)
    if window < 1 or window > len(t):
        raise ValueError(f"window {window} does not fit {len(t)} values")
    return np.convolve(t, np.ones(window) / window, mode="valid")


def anomalies(temps, z=2.0):
    """Indices of the values more than z standard deviations from the mean."""
    t = np.asarray(temps, dtype=float)
    return np.flatnonzero(np.abs(t - t.mean()) > z * t.std())


def plot(temps, path="out/plot.png"):
    """The temperatures and their 7-day moving average, saved as a PNG at path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(temps, label="daily", linewidth=0.8)
    ax.plot(np.arange(6, len(temps)), moving_average(temps, 7), label="7-day mean")
    ax.set_xlabel("day")
    ax.set_ylabel("°C")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    days = np.arange(365)
    temps = 10 + 8 * np.sin(2 * np.pi * (days - 100) / 365)
    print(summary(temps))
    plot(temps)
