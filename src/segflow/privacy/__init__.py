"""Privacy: a person's data on request (GDPR Art. 15 / PIPL Art. 45), erasure (GDPR Art. 17 /
PIPL Art. 47) and the suppression that keeps an erased person from coming back through a
load, until they return with consent. See docs/privacy.md.

* :func:`export_person` → :class:`PersonExport` (:mod:`.export`)
* :func:`erase_person` → :class:`ErasureReport` (:mod:`.erase`)
* :func:`is_suppressed`, :func:`lift_suppression` (:mod:`.suppression`); loads check
  through :mod:`segflow.ingest.suppress`
"""

from __future__ import annotations

from segflow.privacy.erase import ErasureReport, erase_person
from segflow.privacy.export import PersonExport, export_person
from segflow.privacy.suppression import is_suppressed, lift_suppression

__all__ = ["ErasureReport", "PersonExport", "erase_person", "export_person", "is_suppressed", "lift_suppression"]
