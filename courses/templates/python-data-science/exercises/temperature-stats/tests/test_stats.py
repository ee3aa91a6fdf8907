import numpy as np
import pytest

from stats import anomalies, moving_average, plot, summary

TEMPS = np.array([10.0, 12.0, 11.0, 13.0, 30.0, 12.0, 11.0, 10.0, 12.0, -5.0])


def test_summary():
    s = summary(TEMPS)
    assert s["mean"] == pytest.approx(11.6)
    assert s["std"] == pytest.approx(7.8892332), "the population standard deviation"
    assert s["min"] == -5.0
    assert s["max"] == 30.0


def test_moving_average():
    assert moving_average(TEMPS, 3) == pytest.approx(
        [11.0, 12.0, 18.0, 18.333333, 17.666667, 11.0, 11.0, 5.666667])
    assert moving_average(TEMPS, 1) == pytest.approx(TEMPS)


def test_moving_average_rejects_bad_windows():
    with pytest.raises(ValueError):
        moving_average(TEMPS, 0)
    with pytest.raises(ValueError):
        moving_average(TEMPS, 11)


def test_anomalies():
    assert list(anomalies(TEMPS)) == [4, 9]
    assert list(anomalies(TEMPS, z=1.0)) == [4, 9]
    assert list(anomalies(TEMPS, z=3.0)) == []


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "plot.png"
    plot(TEMPS, str(path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
