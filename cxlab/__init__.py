"""cxlab — a research workbench for customer-experience economics.

Load a client's transactions (and, where they exist, customers, loyalty and
survey tables) through :mod:`cxlab.data`, then analyse retention
(:mod:`cxlab.retention`), churn (:mod:`cxlab.churn`, :mod:`cxlab.survival`),
lifetime value (:mod:`cxlab.ltv`), loyalty-program uplift (:mod:`cxlab.uplift`),
survey metrics (:mod:`cxlab.survey`) and sleeping customers and winback campaigns
(:mod:`cxlab.reactivation`), and render per-client reports with
``cxlab report CLIENT``. :func:`open_study` gives a notebook the same study a
report is made of: the client's data and every fact of the study decided once
(:mod:`cxlab.study`).
"""
__version__ = "0.1.0"

__all__ = ["open_study", "Study"]


def __getattr__(name):
    # lazy: ``import cxlab`` stays cheap; the study pulls in pandas and the data layer
    if name in ("open_study", "Study"):
        from cxlab import study

        return getattr(study, name)
    raise AttributeError(f"module 'cxlab' has no attribute {name!r}")
