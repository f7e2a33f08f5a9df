"""What the command line writes, and the one rule for existing files.

Every file a command writes (the CSV, the model, each figure, the extra image
grid of ``--plot``) is listed before any work starts and checked by
:func:`check_outputs`:

- it may not be one of the inputs, nor lie inside an input folder;
- two outputs may not be the same file;
- its folder must exist;
- an existing file is never replaced unless ``--overwrite`` is given, and the
  check is repeated when the file is opened (:func:`open_output` opens with
  mode ``"x"``), so a file created meanwhile is not replaced either.

Any failure is bad input: the command exits with status 2 and one line before
reading data or training. Heavy modules are imported inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path

OVERWRITE_HINT = "pass --overwrite to replace it, or choose another file"


def image_grid_path(plot):
    """Return the file of the image grid that goes with ``--plot FILE``."""
    plot = Path(plot)
    return plot.with_name(f"{plot.stem}-images{plot.suffix}")


def check_outputs(outputs, inputs, *, overwrite):
    """Refuse outputs that would destroy an input or an existing file.

    Parameters
    ----------
    outputs : list of (str, path)
        ``(option, path)`` of every file the command will write; the option
        (e.g. "--out") names the file in messages.
    inputs : list of path
        Files and folders the command reads.
    overwrite : bool
        Whether existing outputs may be replaced.
    """
    seen = {}
    sources = list(_input_paths(inputs))
    for option, path in outputs:
        path = Path(path)
        for source in sources:
            if _same_or_inside(path, Path(source)):
                where = "is" if not Path(source).is_dir() else "is inside"
                raise ValueError(
                    f"{option} {path} {where} the input {source}; the command "
                    f"never writes onto what it reads: choose another file"
                )
        key = _key(path)
        if key in seen:
            raise ValueError(
                f"{option} {path} and {seen[key][0]} {seen[key][1]} are the same "
                f"file; choose different files"
            )
        seen[key] = (option, path)
        if not path.parent.is_dir():
            raise FileNotFoundError(
                f"cannot write {option} {path}: no folder {path.parent}"
            )
        if path.is_dir():
            raise ValueError(f"{option} {path} is a folder; give a file name")
        if (path.exists() or path.is_symlink()) and not overwrite:
            raise FileExistsError(f"{option} {path} exists; {OVERWRITE_HINT}")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise PermissionError(
                f"cannot write {option} {path}: the folder {path.parent} is "
                f"not writable"
            )


def _input_paths(inputs):
    """Yield the inputs, and the folders that an input folder links to.

    An image folder's class folder may be a symbolic link to a folder
    elsewhere; the images read there are inputs as well.
    """
    for source in inputs:
        source = Path(source)
        yield source
        if source.is_dir():
            for child in source.iterdir():
                if child.is_symlink() and child.is_dir():
                    yield child


def _key(path):
    return os.path.normcase(os.path.realpath(path))


def _same_or_inside(path, source):
    if path.exists() and source.exists() and os.path.samefile(path, source):
        return True
    out, src = Path(_key(path)), Path(_key(source))
    return out == src or (source.is_dir() and src in out.parents)


def open_output(path, overwrite, binary=False):
    """Open an output file; without ``overwrite`` an existing file raises."""
    mode = ("w" if overwrite else "x") + ("b" if binary else "")
    try:
        text = {} if binary else {"newline": "", "encoding": "utf-8"}
        return open(path, mode, **text)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; {OVERWRITE_HINT}") from None


def write_csv(table, path, overwrite):
    """Write a DataFrame as CSV (no index) under the output rule."""
    with open_output(path, overwrite) as file:
        table.to_csv(file, index=False)


def save_figure(path, draw, overwrite, shape=(1, 1), figsize=(6, 4)):
    """Call ``draw(axes)`` on a new figure's grid of axes and save it.

    The figure is made without pyplot: no backend is chosen and no figure
    stays open in the calling process.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    draw(figure.subplots(*shape, squeeze=False).ravel())
    with open_output(path, overwrite, binary=True) as file:
        figure.savefig(file, dpi=110, format=Path(path).suffix.lstrip(".").lower())


def check_plot_format(path):
    """Raise a ValueError if matplotlib cannot write ``path``'s format."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if Path(path).suffix.lower().lstrip(".") not in formats:
        raise ValueError(
            f"cannot save a plot as {path}: use one of the extensions "
            f"{', '.join('.' + f for f in sorted(formats))}"
        )
