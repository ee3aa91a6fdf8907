"""runbox's matplotlib backend: Agg, and show() saves the open figures into /box/out/.

Selected by MPLBACKEND=module://runbox_mpl, which languages/python.json sets only when this file
is there (else MPLBACKEND stays Agg). Each plt.show() writes figure-1.png, figure-2.png, ...
(numbered across the run) and closes the figures, as an interactive show() would once its
windows close.
"""
import os

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

OUT_DIR = os.environ.get("RUNBOX_OUT_DIR", "/box/out")

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

_saved = 0


def show(*args, **kwargs):
    global _saved
    managers = Gcf.get_all_fig_managers()
    if not managers:
        return
    os.makedirs(OUT_DIR, exist_ok=True)
    for manager in managers:
        _saved += 1
        manager.canvas.figure.savefig(os.path.join(OUT_DIR, f"figure-{_saved}.png"))
    Gcf.destroy_all()
