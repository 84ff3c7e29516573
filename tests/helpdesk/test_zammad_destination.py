"""The contract suite's Zammad destination works on its own: a session that loses an answer, read-back, webhook."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

from connector.helpdesk.port import HelpdeskUnavailable
from tests.helpdesk.contract.zammad_destination import make_destination
from tests.helpdesk.test_zammad import message, new_ticket


class LosesFirstPost(requests.Session):
    """The first POST reaches Zammad; its answer is lost, as a crash before our commit would lose it."""

    lost = False

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        if request.method == "POST" and not self.lost:
            self.lost = True
            raise requests.ConnectionError("answer lost")
        return response


def test_the_destination_reads_back_what_the_adapter_delivered(tmp_path):
    destination = make_destination(tmp_path)
    helpdesk = destination.helpdesk(LosesFirstPost())
    try:
        with pytest.raises(HelpdeskUnavailable):
            helpdesk.open_ticket(new_ticket())     # the customer's user was made; that answer was lost
        opened = helpdesk.find_ticket("gmc-3f2a9c-t42") or helpdesk.open_ticket(new_ticket())
        helpdesk.add_message(opened.remote_ticket_id, message("gmc-3f2a9c-c18", public=False))
        destination.solve(opened.remote_ticket_id)
        helpdesk.reopen(opened.remote_ticket_id, "gmc-3f2a9c-e3")
        call = destination.answer(opened.remote_ticket_id, "Voici la facture.")
        note = destination.answer(opened.remote_ticket_id, "internal only", public=False)

        [ticket] = destination.tickets("ZOE.MULLER@example.org")
        assert (ticket.queue, ticket.status, ticket.requester) == ("Support", "open", "zoe.muller@example.org")
        assert [(m.public, m.author) for m in ticket.messages] == [
            (True, "zoe.muller@example.org"), (False, "zoe.muller@example.org"),
            (True, "emma@chrispresso.com"), (False, "emma@chrispresso.com")]
        assert helpdesk.tickets_in_event(call) == helpdesk.tickets_in_event(note) == [opened.remote_ticket_id]
        since = datetime(2000, 1, 1, tzinfo=timezone.utc)
        assert [r.body_text for r in helpdesk.ticket_replies(opened.remote_ticket_id, since)] == ["Voici la facture."]
    finally:
        helpdesk.close()
        destination.close()
