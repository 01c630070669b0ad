"""An advisory checklist engine for one clinical pathway: intrathecal baclofen
(ITB) pump therapy for children with cerebral palsy.

It lays out what a referral documents and what it does not, item by item, for
the multidisciplinary team to discuss. It never decides: no item, summary or
format states or implies an eligibility decision, prescription or
recommendation.
"""
from __future__ import annotations

__version__ = "0.1.0"
