import io

import pytest

from analysis import best_month, load_sales, revenue_by_region, save_plot

CSV = """date,region,units,price
2024-01-05,north,10,2.5
2024-01-17,south,4,10.0
2024-02-02,north,7,2.5
2024-02-11,east,12,4.0
2024-02-20,south,1,10.0
2024-03-03,east,3,4.0
2024-03-15,north,20,2.5
"""


@pytest.fixture
def sales():
    return load_sales(io.StringIO(CSV))


def test_revenue_column(sales):
    assert "revenue" in sales.columns
    assert sales["revenue"].tolist() == [25.0, 40.0, 17.5, 48.0, 10.0, 12.0, 50.0]


def test_dates_are_parsed(sales):
    assert str(sales["date"].dtype).startswith("datetime64")


def test_revenue_by_region(sales):
    by_region = revenue_by_region(sales)
    assert list(by_region.index) == ["north", "east", "south"]
    assert by_region.tolist() == pytest.approx([92.5, 60.0, 50.0])


def test_best_month(sales):
    assert best_month(sales) == "2024-02"


def test_save_plot_writes_a_png(sales, tmp_path):
    path = tmp_path / "charts" / "plot.png"
    save_plot(sales, str(path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
