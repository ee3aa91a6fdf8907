"""Sales summary: pandas over sales.csv."""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def load_sales(source):
    """The CSV as a DataFrame with dates parsed and a revenue column."""
    df = pd.read_csv(source, parse_dates=["date"])
    df["revenue"] = df["units"] * df["price"]
    return df


def revenue_by_region(df):
    """Total revenue per region, largest first."""
    return df.groupby("region")["revenue"].sum().sort_values(ascending=False)


def best_month(df):
    """The month ("YYYY-MM") with the largest total revenue."""
    by_month = df.groupby(df["date"].dt.strftime("%Y-%m"))["revenue"].sum()
    return by_month.idxmax()


def save_plot(df, path="out/plot.png"):
    """A bar chart of the revenue by region, saved as a PNG at path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    revenue_by_region(df).plot.bar(ax=ax, color="tab:blue")
    ax.set_ylabel("revenue")
    ax.set_title("Revenue by region")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sales = load_sales(sys.argv[1] if len(sys.argv) > 1 else "sales.csv")
    print(revenue_by_region(sales).to_string())
    print("best month:", best_month(sales))
    save_plot(sales)
