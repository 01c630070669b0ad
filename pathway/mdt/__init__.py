"""`pathway mdt`: one packet for an MDT meeting (cover, a section per referral, the evidence once).

packet.py is pure (reports in, a typed `Packet` out, in the agenda's order
when there is one); agenda.py reads and checks the agenda (a file, or a web
form's rows); gather.py reads and checks the referrals; render.py fills
templates/mdt.html; pdf.py prints it offline with WeasyPrint; command.py is
the thin CLI front end.
"""
from __future__ import annotations

DEFAULT_TITLE = "ITB referrals: MDT meeting"
"""The packet's title when the coordinator gives none (here, so the command line needs nothing heavier)."""
