"""runbox: Python in a box starts here (PYTHONPATH=/box/.runbox, from languages/python.json).

matplotlib's plt.show() saves each open figure as /box/out/figure-N.png, which runbox returns
with the run's files (the web page shows them inline), instead of Agg's "cannot show" warning.
A program that picks its own backend (MPLBACKEND, matplotlib.use) keeps it.
"""
import os

if os.environ.get("MPLBACKEND", "Agg") == "Agg":
    os.environ["MPLBACKEND"] = "module://runbox_mpl"
