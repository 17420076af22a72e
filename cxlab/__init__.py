"""cxlab — a research workbench for customer-experience economics.

Load a client's transactions (and, where they exist, customers, loyalty and
survey tables) through :mod:`cxlab.data`, then analyse retention
(:mod:`cxlab.retention`), churn (:mod:`cxlab.churn`, :mod:`cxlab.survival`),
lifetime value (:mod:`cxlab.ltv`), loyalty-program uplift (:mod:`cxlab.uplift`)
and survey metrics (:mod:`cxlab.survey`), and render per-client reports with
``cxlab report CLIENT``.
"""
__version__ = "0.1.0"
