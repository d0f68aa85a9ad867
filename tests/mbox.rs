//! A mailing list's archive as real MIME messages (quoted-printable,
//! base64, multipart with an HTML part, Latin-1): the complaint and its
//! forwards across the lists are one incident that escalates; the list's
//! other mail and the spam produce nothing; a second run reads nothing again.

mod common;

use common::*;

#[test]
fn an_archived_forward_chain_is_one_escalating_incident() {
    let archive = repo().join("fixtures/chain/forwarded-complaint.mbox");
    let source = format!(
        "[[sources]]\ntype = \"mbox\"\nname = \"lists\"\npath = \"{}\"\nmembers = 500\n",
        archive.display()
    );
    let w = Workdir::with_sources(&source, "");
    let out = w.run();
    assert_ok(&out);
    let tickets = w.tickets();
    assert_one_chain_incident(&tickets, CHAIN);
    let last = tickets.last().unwrap();
    // The forward headers name the hops.
    assert_eq!(last["hops"][1]["via"], "Rudi Hartono <rudi.hartono@mail.example>");
    // Again: the cursor says every message is done.
    assert_ok(&w.run());
    assert_eq!(keys(&w.tickets()), keys(&tickets));
}
