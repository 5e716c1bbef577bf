"""Fill a public op namespace from the common definition modules."""


def export(namespace, module):
    """Copy the ops `module` defines (or re-exports) into `namespace`; return their names."""
    names = [n for n, v in vars(module).items()
             if not n.startswith("_") and hasattr(v, "impl_name")]
    namespace.update({n: getattr(module, n) for n in names})
    return names
