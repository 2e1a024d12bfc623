"""Arrow's compute kernels, called as ``pyarrow.compute`` calls them, without importing it.

``pyarrow.compute`` wraps every one of Arrow's ~600 kernels at import, each with a
docstring scraped and a signature built: 70 ms to import alone, about 40 ms of a
small input's ``report`` or ``inspect`` (0.3-0.5 s in all). This module wraps a kernel the first time the pipeline
names it (``compute.match_substring_regex(values, pattern)``, the same call as
``pc.match_substring_regex``). It spells out ``cast``, ``take`` and ``fill_null``, which
``pyarrow.compute`` defines in Python, and ``filter`` and ``dictionary_encode`` with the
defaults of the array methods they stand in for.

Arrow arrays' own methods (``Array.take``, ``.filter``, ``.cast``, ``.unique``,
``.dictionary_encode``, ``.fill_null``, ``.is_null``, ...) import ``pyarrow.compute`` on
their first call: the command line's hot paths call the functions here instead
(``tests/test_defer_pandas.py`` checks that a report or inspect never imports it).
"""

from __future__ import annotations

try:
    import pyarrow._compute as _kernels
except ImportError:  # a pyarrow that renamed its private module: the public one has the same names
    import pyarrow.compute as _kernels


def cast(values, target_type, *, safe: bool = True):
    """``pc.cast(values, target_type, safe=safe)``."""
    import pyarrow as pa

    target_type = pa.types.lib.ensure_type(target_type)
    options = _kernels.CastOptions.safe(target_type) if safe else _kernels.CastOptions.unsafe(target_type)
    return _kernels.call_function("cast", [values], options)


def take(values, indices):
    """``pc.take(values, indices)`` (bounds checked), as ``values.take(indices)``."""
    return _kernels.call_function("take", [values, indices], _kernels.TakeOptions(boundscheck=True))


def filter(values, mask):  # noqa: A001 - the kernel's own name, as pc.filter
    """``pc.filter(values, mask)`` (a null in the mask drops the row), as ``values.filter(mask)``."""
    return _kernels.call_function("filter", [values, mask], _kernels.FilterOptions("drop"))


def dictionary_encode(values, null_encoding: str = "mask"):
    """``values.dictionary_encode(null_encoding)``: ``"mask"`` leaves nulls out of the
    dictionary, ``"encode"`` gives them an entry."""
    return _kernels.call_function("dictionary_encode", [values], _kernels.DictionaryEncodeOptions(null_encoding))


def fill_null(values, fill_value):
    """``pc.fill_null(values, fill_value)``: a Python value becomes a scalar of the values' type."""
    import pyarrow as pa

    if not isinstance(fill_value, (pa.Array, pa.ChunkedArray, pa.Scalar)):
        fill_value = pa.scalar(fill_value, type=values.type)
    elif values.type != fill_value.type:
        fill_value = pa.scalar(fill_value.as_py(), type=values.type)
    return _kernels.call_function("coalesce", [values, fill_value])


def _wrap(name: str):
    """A kernel called as ``pyarrow.compute``'s generated wrapper calls it: its arity's
    positional arguments are the inputs (all of them for a kernel of any arity), what
    follows and the keywords build its options class."""
    kernel = _kernels.get_function(name)
    options_class = getattr(_kernels, kernel._doc.options_class) if kernel._doc.options_class else None
    arity = kernel.arity

    def call(*args, **kwargs):
        inputs, option_args = (args, ()) if arity is Ellipsis else (args[:arity], args[arity:])
        if options_class is None:
            if option_args or kwargs:
                raise TypeError(f"{name} takes no options")
            return kernel.call(list(inputs), None)
        options = options_class(*option_args, **kwargs) if option_args or kwargs else None
        return kernel.call(list(inputs), options)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Arrow's ``{name}`` kernel, as ``pyarrow.compute.{name}``."
    return call


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        wrapped = _wrap(name)
    except KeyError:  # Arrow's ArrowKeyError: no kernel of that name
        raise AttributeError(f"Arrow has no compute kernel {name!r}") from None
    globals()[name] = wrapped  # built once per process
    return wrapped
