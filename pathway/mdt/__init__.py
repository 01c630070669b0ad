"""`pathway mdt`: one packet for an MDT meeting (cover, a section per referral, the evidence once).

packet.py is pure (reports in, a typed `Packet` out); gather.py reads and
checks the referrals; render.py fills templates/mdt.html; pdf.py prints it
offline with WeasyPrint; command.py is the thin CLI front end.
"""
