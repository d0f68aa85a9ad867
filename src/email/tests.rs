use super::*;

const LETTER: &str = "Kepada Yth. Manajemen RS Harapan Sehat,\n\nSaya Nadia Putri, pasien rawat inap. Dokter jaga salah diagnosa: saya didiagnosa tifus padahal demam berdarah.\n\nHormat saya,\nNadia Putri";

#[test]
fn a_gmail_forward_keeps_the_comment_and_the_original() {
    let text = format!(
        "Teman-teman, tolong dibaca. Hati-hati dengan RS ini.\n\n---------- Forwarded message ---------\nFrom: Nadia Putri <nadia.putri@mail.example>\nDate: Mon, 2 Mar 2026 at 19:00\nSubject: Keluhan pelayanan RS Harapan Sehat\nTo: <pengaduan@rsharapansehat.example>\n\n{LETTER}\n"
    );
    let s = split(&text);
    assert_eq!(s.comments, ["Teman-teman, tolong dibaca. Hati-hati dengan RS ini."]);
    assert_eq!(s.original.as_deref(), Some(LETTER));
    assert_eq!(s.hops.len(), 1);
    assert_eq!(s.hops[0].from, "Nadia Putri <nadia.putri@mail.example>");
    assert_eq!(s.hops[0].subject.as_deref(), Some("Keluhan pelayanan RS Harapan Sehat"));
    assert_eq!(s.hops[0].date.as_deref(), Some("Mon, 2 Mar 2026 at 19:00"));
}

#[test]
fn nested_forwards_from_three_clients_reach_the_innermost_original() {
    let quoted: String = LETTER.lines().map(|l| format!("> > {l}\n")).collect();
    let text = format!(
        "Anggota milis yth, mohon dibantu sebarkan.\n\nBegin forwarded message:\n\nFrom: komunitas.sehat@groups.example\nSubject: Fwd: Fwd: Keluhan\n\n> Tolong sebarkan, ini sudah keterlaluan.\n> \n> -----Original Message-----\n> From: Arif H <arif.h@list-warga.example>\n> Sent: Monday, March 2, 2026 6:15 PM\n> Subject: Fwd: Keluhan\n> \n> > Teman-teman, tolong dibaca.\n> > \n> > ---------- Forwarded message ---------\n> > From: Nadia Putri <nadia.putri@mail.example>\n> > \n{quoted}"
    );
    let s = split(&text);
    assert_eq!(s.original.as_deref(), Some(LETTER));
    assert_eq!(
        s.comments,
        [
            "Anggota milis yth, mohon dibantu sebarkan.",
            "Tolong sebarkan, ini sudah keterlaluan.",
            "Teman-teman, tolong dibaca."
        ]
    );
    let from: Vec<&str> = s.hops.iter().map(|h| h.from.as_str()).collect();
    assert_eq!(
        from,
        [
            "komunitas.sehat@groups.example",
            "Arif H <arif.h@list-warga.example>",
            "Nadia Putri <nadia.putri@mail.example>"
        ]
    );
}

#[test]
fn indonesian_client_headers_and_outlook_underscores() {
    let gmail_id = format!(
        "Info dari grup sebelah.\n\n---------- Pesan terusan ---------\nDari: Nadia Putri <nadia.putri@mail.example>\nTanggal: Sen, 2 Mar 2026 pukul 19.00\nSubjek: Keluhan pelayanan\nKepada: <pengaduan@rsharapansehat.example>\n\n{LETTER}"
    );
    let s = split(&gmail_id);
    assert_eq!(s.original.as_deref(), Some(LETTER));
    assert_eq!(s.hops[0].date.as_deref(), Some("Sen, 2 Mar 2026 pukul 19.00"));
    let outlook = format!(
        "FYI\n\n________________________________\nFrom: Nadia Putri <nadia.putri@mail.example>\nSent: 02 March 2026 19:00\nTo: Pengaduan\nSubject: Keluhan pelayanan\n\n{LETTER}"
    );
    let s = split(&outlook);
    assert_eq!(
        (s.comments.as_slice(), s.original.as_deref()),
        (&["FYI".to_owned()][..], Some(LETTER))
    );
}

#[test]
fn a_quoting_reply_without_a_separator() {
    let text = "Setuju, ini parah sekali.\n\nOn Mon, 2 Mar 2026 at 19:00 Nadia <nadia@mail.example> wrote:\n> Dokter jaga salah diagnosa.\n> Rekam medis saya tidak diberikan.";
    let s = split(text);
    assert_eq!(s.comments, ["Setuju, ini parah sekali."]);
    assert_eq!(
        s.original.as_deref(),
        Some("Dokter jaga salah diagnosa.\nRekam medis saya tidak diberikan.")
    );
    let bare = "Ikut prihatin.\n> > Dokter jaga salah diagnosa.\n> Parah.";
    let s = split(bare);
    assert_eq!(s.original.as_deref(), Some("Dokter jaga salah diagnosa."));
    assert_eq!(s.comments, ["Ikut prihatin.", "Parah."]);
}

#[test]
fn signatures_and_disclaimers_are_dropped() {
    let text = format!(
        "Please read this.\n\n-- \nArif H\nKetua RT 05\n\n---------- Forwarded message ---------\nFrom: Nadia <nadia@mail.example>\n\n{LETTER}\n\nSent from my iPhone\n\nThis email and any attachments are confidential and intended solely for the addressee."
    );
    let s = split(&text);
    assert_eq!(s.comments, ["Please read this."]);
    assert_eq!(s.original.as_deref(), Some(LETTER));
    let only = "Keluhan saya: dokter tidak datang.\n\nEmail ini bersifat rahasia dan ditujukan hanya untuk penerima yang dituju.";
    assert_eq!(
        split(only).original.as_deref(),
        Some("Keluhan saya: dokter tidak datang.")
    );
}

#[test]
fn plain_text_is_its_own_original() {
    let s = split("Dokter tidak datang dua hari.");
    assert!(s.comments.is_empty());
    assert_eq!(s.original.as_deref(), Some("Dokter tidak datang dua hari."));
    assert!(!may_quote("one line, no quotes"));
}

#[test]
fn mime_quoted_printable_latin1_and_headers() {
    let raw = b"From: =?ISO-8859-1?Q?Ren=E9?= <rene@mail.example>\r\nTo: list@lists.example\r\nSubject: =?UTF-8?B?S2VsdWhhbiBwZWxheWFuYW4=?=\r\nDate: Mon, 2 Mar 2026 19:00:00 +0700\r\nMessage-ID: <abc@mail.example>\r\nIn-Reply-To: <prev@mail.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nLe m=E9decin n'est pas venu. Tr=E8s d=E9=E7u.=\r\n Merci.\r\n";
    let m = parse_mime(raw).unwrap();
    assert_eq!(m.from.as_deref(), Some("rene@mail.example"));
    assert_eq!(m.from_name.as_deref(), Some("René"));
    assert_eq!(m.subject.as_deref(), Some("Keluhan pelayanan"));
    assert_eq!(m.message_id.as_deref(), Some("abc@mail.example"));
    assert_eq!(m.references, ["prev@mail.example"]);
    assert_eq!(m.date.as_deref(), Some("2026-03-02T19:00:00+07:00"));
    assert!(
        m.text.starts_with("Le médecin n'est pas venu. Très déçu. Merci."),
        "{:?}",
        m.text
    );
}

#[test]
fn mime_base64_html_only_and_multipart() {
    let body = "Dokter tidak datang. Mohon ditindaklanjuti.";
    let b64 = base64(body.as_bytes());
    let raw = format!(
        "From: a@mail.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>{body}</p>\r\n--b1--\r\n"
    );
    assert_eq!(parse_mime(raw.as_bytes()).unwrap().text.trim(), body);
    let html_only = "From: a@mail.example\r\nSubject: x\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<html><body><p>Antre <b>5 jam</b> di IGD</p></body></html>\r\n";
    let text = parse_mime(html_only.as_bytes()).unwrap().text;
    assert!(text.contains("Antre 5 jam di IGD"), "{text:?}");
}

#[test]
fn mime_forward_as_attachment_becomes_a_forwarded_block() {
    let inner = format!(
        "From: Nadia Putri <nadia.putri@mail.example>\r\nSubject: Keluhan pelayanan\r\nDate: Mon, 2 Mar 2026 19:00:00 +0700\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{}\r\n",
        LETTER.replace('\n', "\r\n")
    );
    let raw = format!(
        "From: arif.h@list-warga.example\r\nSubject: Fwd: Keluhan pelayanan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHati-hati dengan RS ini.\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--m--\r\n"
    );
    let mail = parse_mime(raw.as_bytes()).unwrap();
    let s = split(&mail.text);
    assert_eq!(s.comments, ["Hati-hati dengan RS ini."]);
    assert_eq!(s.original.as_deref(), Some(LETTER));
    assert_eq!(s.hops[0].from, "nadia.putri@mail.example");
}

#[test]
fn not_a_message() {
    assert!(parse_mime(b"").is_none());
}

fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
