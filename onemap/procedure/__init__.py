"""The connection procedure (items 2–5, 9): working days on the Chinese official calendar,
steps, time limits, documents, payer and tariff.

* :mod:`~onemap.procedure.workdays` — :func:`~onemap.procedure.workdays.add_workdays`
  (``chinese_calendar``; provisional for years whose holidays are not yet published);
* :mod:`~onemap.procedure.timeline` — steps, working days and the earliest energising date.

This layer sits below routing (the filing verdict counts its approval deadline here) and reads
only the rule table.
"""
