"""``fairmicro serve``: a local web catalog (browse, query, review, datasets, runs, qualification).

Server-rendered pages (Starlette + Jinja2, no JavaScript build step) over the
library: every read goes through named catalog methods
(:mod:`fairmicro.catalog.web_queries`), the query page through the same
sandbox as ``fairmicro query``, review through
:func:`fairmicro.models.labelling.set_manual_label`, qualification through
:func:`fairmicro.qualify`. Build the application with
:func:`fairmicro.web.app.create_app`; importing this package imports nothing.
"""
