"""Temperature statistics with NumPy; a chart with matplotlib."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def summary(temps):
    """{"mean", "std", "min", "max"} of temps, as floats."""
    return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}


def moving_average(temps, window):
    """The mean of every run of window consecutive values."""
    return np.array([])


def anomalies(temps, z=2.0):
    """Indices of the values more than z standard deviations from the mean."""
    return np.array([], dtype=int)


def plot(temps, path="out/plot.png"):
    """The temperatures and their 7-day moving average, saved as a PNG at path."""


if __name__ == "__main__":
    days = np.arange(365)
    temps = 10 + 8 * np.sin(2 * np.pi * (days - 100) / 365)
    print(summary(temps))
    plot(temps)
