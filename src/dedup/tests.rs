use super::*;

const LETTER: &str = "Saya Nadia Putri, pasien rawat inap tanggal 20-25 Februari 2026. Dokter jaga salah diagnosa: saya didiagnosa tifus padahal hasil lab menunjukkan demam berdarah, trombosit saya 45.000. Dokter spesialis tidak datang visit selama dua hari, dan perawat hanya bilang tunggu saja. Ketika saya minta rekam medis dan hasil lab, petugas menolak dan bersikap ketus.";

fn cats(c: &[&str]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

fn index_with_letter() -> Index {
    let mut index = Index::new(14 * 86_400);
    index.add("rshs", "nadia", &fingerprint_text(LETTER), 1_000, Some("inc-1"));
    index.set_categories(
        "inc-1",
        &cats(&["misdiagnosis", "records_access", "doctor_absent", "complaint"]),
    );
    index
}

#[test]
fn anchors_are_figures_not_years() {
    assert_eq!(anchors("trombosit 45.000 pada 2026"), vec![45_000]);
    assert_eq!(anchors("platelets 45,000 in 2026"), vec![45_000]);
    assert_eq!(anchors("bayar umum 12 juta, kamar 101"), vec![101, 12_000_000]);
    assert_eq!(anchors("jam 10, 2 hari, covid19"), Vec::<u64>::new());
}

#[test]
fn a_light_edit_is_a_near_duplicate() {
    let index = index_with_letter();
    let edited = LETTER
        .replace("bersikap ketus", "bersikap sangat ketus")
        .replace("dua hari", "2 hari");
    let (id, link) = index.find("rshs", &fingerprint_text(&edited), &[]).unwrap();
    assert_eq!(id, "inc-1");
    assert!(
        matches!(link, Link::NearDuplicate { .. } | Link::Contains { .. }),
        "{link:?}"
    );
    let (_, link) = index.find("rshs", &fingerprint_text(LETTER), &[]).unwrap();
    assert_eq!(link, Link::NearDuplicate { bits: 0 });
}

#[test]
fn a_partial_copy_with_comments_is_contained() {
    let index = index_with_letter();
    let copy = "Saya salin dari milis: 'Dokter jaga salah diagnosa: saya didiagnosa tifus padahal hasil lab menunjukkan demam berdarah, trombosit saya 45.000. Dokter spesialis tidak datang visit selama dua hari.' Ini kejadian di RS Harapan Sehat. Hati-hati.";
    let (id, link) = index.find("rshs", &fingerprint_text(copy), &[]).unwrap();
    assert_eq!(id, "inc-1");
    assert!(matches!(link, Link::Contains { share } if share >= 0.5), "{link:?}");
}

#[test]
fn a_translation_is_linked_by_figures_and_categories() {
    let index = index_with_letter();
    let en = "A patient says she was misdiagnosed with typhoid when lab results showed dengue (platelets 45,000), the specialist never came for two days, and staff refused her medical records.";
    let categories = cats(&["misdiagnosis", "records_access", "complaint"]);
    let (id, link) = index.find("rshs", &fingerprint_text(en), &categories).unwrap();
    assert_eq!((id.as_str(), link), ("inc-1", Link::Anchors { shared: 1 }));
    // The same figure in an unrelated complaint is not enough.
    let other = "Tagihan parkir 45.000 mahal sekali";
    assert!(
        index
            .find("rshs", &fingerprint_text(other), &cats(&["billing"]))
            .is_none()
    );
}

#[test]
fn unrelated_posts_and_other_providers_stay_apart() {
    let index = index_with_letter();
    let other = "Petugas pendaftaran kasar sekali, saya dibentak cuma karena tanya nomor antrean";
    assert!(
        index
            .find("rshs", &fingerprint_text(other), &cats(&["staff_rudeness"]))
            .is_none()
    );
    assert!(index.find("kmu", &fingerprint_text(LETTER), &[]).is_none());
}

#[test]
fn the_window_forgets() {
    let mut index = index_with_letter();
    index.add(
        "rshs",
        "someone",
        &fingerprint_text("lain kali saja"),
        1_000 + 15 * 86_400,
        None,
    );
    assert!(index.find("rshs", &fingerprint_text(LETTER), &[]).is_none());
    assert_eq!(index.len(), 1);
}

#[test]
fn repeats_by_one_author() {
    let mut index = Index::new(86_400);
    let promo = fingerprint_text("Klik http://promo.example/slot gacor hari ini #rsharapansehat #viral");
    assert_eq!(index.repeats("rshs", "@bot", &promo), 0);
    index.add("rshs", "@bot", &promo, 10, None);
    index.add("rshs", "@bot", &promo, 20, None);
    assert_eq!(index.repeats("rshs", "@bot", &promo), 2);
    assert_eq!(index.repeats("rshs", "@someone", &promo), 0);
}

#[test]
fn fingerprints_are_stable() {
    // Stored in SQLite: a change of hash function would orphan them.
    assert_eq!(
        fingerprint_text("dokter tidak datang").simhash,
        fingerprint_text("Dokter  TIDAK datang!").simhash
    );
    // FNV-1a 64 of "dokter", SplitMix64-finished, computed independently.
    assert_eq!(hash(b"dokter"), 0xe2d4_6ba1_9a85_0c3a);
}

#[test]
fn postings_keep_every_holder_and_forget_the_stale() {
    let mut p: Postings<u32> = Postings::default();
    p.push(7, 1);
    p.push(7, 2);
    p.push(7, 3);
    p.push(8, 2);
    assert_eq!(p.get(&7, 10).unwrap().collect::<Vec<_>>(), [1, 2, 3]);
    assert!(p.get(&7, 2).is_none(), "more holders than the limit: a stock phrase");
    p.retain(|i| i != 1 && i != 2);
    assert_eq!(p.get(&7, 10).unwrap().collect::<Vec<_>>(), [3]);
    assert!(p.get(&8, 10).is_none());
}

#[test]
fn quiet_incidents_leave_the_index() {
    let mut index = index_with_letter();
    // A window's worth of other posts later, the letter's incident is gone
    // from the shingle and anchor tables too.
    for k in 0..5000 {
        index.add(
            "rshs",
            "x",
            &fingerprint_text(&format!("post nomor {k} lain")),
            1_000 + 15 * 86_400 + k,
            None,
        );
    }
    assert!(
        index
            .find(
                "rshs",
                &fingerprint_text(LETTER),
                &cats(&["misdiagnosis", "records_access"])
            )
            .is_none()
    );
    assert!(index.shingle_index.first.is_empty() && index.anchor_index.first.is_empty());
}

#[test]
fn another_providers_incidents_never_make_a_phrase_stock() {
    // Forty incidents of another provider quote the same letter: for
    // them it is a stock text, but the copy about rshs still joins, as it
    // would in a group member that owns rshs alone.
    let mut index = index_with_letter();
    for i in 0..40 {
        let text = format!("{LETTER} Kasus nomor {i} di klinik lain.");
        index.add(
            "other",
            "x",
            &fingerprint_text(&text),
            2_000 + i,
            Some(&format!("inc-o{i}")),
        );
    }
    let copy = "Saya salin dari milis: 'Dokter jaga salah diagnosa: saya didiagnosa tifus padahal hasil lab menunjukkan demam berdarah, trombosit saya 45.000. Dokter spesialis tidak datang visit selama dua hari.' Ini kejadian di RS Harapan Sehat. Hati-hati.";
    let (id, link) = index.find("rshs", &fingerprint_text(copy), &[]).unwrap();
    assert_eq!(id, "inc-1");
    assert!(matches!(link, Link::Contains { .. }), "{link:?}");
}

#[test]
fn a_tie_between_incidents_goes_to_the_smaller_id_whatever_the_order() {
    let copy = "Dokter jaga salah diagnosa: saya didiagnosa tifus padahal hasil lab menunjukkan demam berdarah, trombosit saya 45.000.";
    for order in [["inc-b", "inc-a"], ["inc-a", "inc-b"]] {
        let mut index = Index::new(14 * 86_400);
        for (n, id) in order.iter().enumerate() {
            index.add("rshs", "nadia", &fingerprint_text(LETTER), 1_000 + n as i64, Some(id));
        }
        let (id, _) = index.find("rshs", &fingerprint_text(copy), &[]).unwrap();
        assert_eq!(id, "inc-a", "added in the order {order:?}");
    }
}
