"""Sales summary: pandas over sales.csv."""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def load_sales(source):
    """The CSV as a DataFrame with dates parsed and a revenue column."""
    return pd.read_csv(source)


def revenue_by_region(df):
    """Total revenue per region, largest first."""
    return pd.Series(dtype=float)


def best_month(df):
    """The month ("YYYY-MM") with the largest total revenue."""
    return ""


def save_plot(df, path="out/plot.png"):
    """A bar chart of the revenue by region, saved as a PNG at path."""


if __name__ == "__main__":
    sales = load_sales(sys.argv[1] if len(sys.argv) > 1 else "sales.csv")
    print(revenue_by_region(sales).to_string())
    print("best month:", best_month(sales))
    save_plot(sales)
