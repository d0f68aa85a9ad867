//! The IMAP source against a real Dovecot on 127.0.0.1 (installed by
//! `tests/run.sh`), over TLS from a throw-away CA: a forwarded-complaint
//! chain delivered as real MIME messages is one incident; no flag changes;
//! a second run reads only what is new; IDLE reads a message as it arrives;
//! a renumbered mailbox is read again without counting anything twice; a
//! refused login is a clear error that never shows the password.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "patient-relations";
const PASSWORD: &str = "s3cret-Imap!";
const MAILBOX: &str = "Lists";

fn dovecot_binary() -> PathBuf {
    let path = std::env::var_os("EARSHOT_DOVECOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/dovecot"));
    assert!(
        path.is_file(),
        "Dovecot is not installed at {}: run `bash tests/run.sh`, which installs dovecot-imapd",
        path.display()
    );
    path
}

/// A Dovecot with one user and a throw-away mail store, stopped on drop.
struct Dovecot {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// Plain IMAP (STARTTLS offered).
    imap: u16,
    /// IMAP over TLS.
    imaps: u16,
}

impl Dovecot {
    fn start() -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        certificates(d);
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        std::fs::create_dir(d.join("mail")).unwrap();
        // Dovecot will not give mail to root: as root, the mail belongs to nobody.
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let user = user.trim();
        let (mail_user, mail_group, service_users) = if user == "root" {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::set_permissions(d.join("mail"), std::fs::Permissions::from_mode(0o1777)).unwrap();
            ("nobody".to_owned(), "nogroup".to_owned(), String::new())
        } else {
            let group = String::from_utf8(Command::new("id").arg("-gn").output().unwrap().stdout).unwrap();
            (
                user.to_owned(),
                group.trim().to_owned(),
                format!("default_login_user = {user}\ndefault_internal_user = {user}\n"),
            )
        };
        let (imap, imaps) = (free_port(), free_port());
        let config = d.join("dovecot.conf");
        std::fs::write(
            &config,
            format!(
                r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain
disable_plaintext_auth = no
{service_users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"#,
                d = d.display()
            ),
        )
        .unwrap();
        let status = Command::new(dovecot_binary())
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "dovecot did not start (see {}/dovecot.log)",
            d.display()
        );
        let dovecot = Dovecot {
            dir,
            config,
            imap,
            imaps,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", imaps)).is_err() {
            assert!(Instant::now() < deadline, "dovecot is not listening on {imaps}");
            std::thread::sleep(Duration::from_millis(50));
        }
        dovecot
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A `[[sources]]` table reading the list's mailbox.
    fn source(&self, tls: &str, extra: &str) -> String {
        let port = if tls == "implicit" { self.imaps } else { self.imap };
        format!(
            "[[sources]]\ntype = \"imap\"\nname = \"lists\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\n\
             ca_file = \"{}\"\nusername = \"{USER}\"\npassword_env = \"LIST_IMAP_PASSWORD\"\nmailbox = \"{MAILBOX}\"\n\
             members = 500\n{extra}\n",
            self.ca_file().display()
        )
    }

    /// Runs `f` on a signed-in session of the test's own (plain) client.
    fn with_session<T>(&self, f: impl AsyncFnOnce(&mut async_imap::Session<tokio::net::TcpStream>) -> T) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap)).await.unwrap();
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await.unwrap().unwrap();
            let mut session = client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap();
            let out = f(&mut session).await;
            session.logout().await.unwrap();
            out
        })
    }

    /// Delivers raw messages to the list's mailbox, creating it if need be.
    fn deliver(&self, messages: &[Vec<u8>]) {
        self.with_session(async |s| {
            let _ = s.create(MAILBOX).await;
            for m in messages {
                s.append(MAILBOX, None, None, m).await.unwrap();
            }
        });
    }

    /// Delivers a message that arrived in 2020 (its server arrival date).
    fn deliver_old(&self, message: &[u8]) {
        self.with_session(async |s| {
            let _ = s.create(MAILBOX).await;
            s.append(MAILBOX, None, Some("\"01-Jan-2020 10:00:00 +0000\""), message)
                .await
                .unwrap();
        });
    }

    /// Every message's flags.
    fn flags(&self) -> Vec<String> {
        self.with_session(async |s| {
            use futures_util::TryStreamExt;
            s.examine(MAILBOX).await.unwrap();
            let fetched: Vec<_> = s.fetch("1:*", "FLAGS").await.unwrap().try_collect().await.unwrap();
            fetched
                .iter()
                .map(|m| m.flags().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(" "))
                .collect()
        })
    }

    /// Deletes and re-creates the mailbox: a new UIDVALIDITY.
    fn renumber(&self, messages: &[Vec<u8>]) {
        self.with_session(async |s| s.delete(MAILBOX).await.unwrap());
        self.deliver(messages);
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new(dovecot_binary())
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The forwarded-complaint archive, message by message, as mail clients sent them.
fn chain() -> Vec<Vec<u8>> {
    let file = std::fs::File::open(repo().join("fixtures/chain/forwarded-complaint.mbox")).unwrap();
    mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(file))
        .map(|m| m.unwrap().contents().to_vec())
        .collect()
}

fn run(w: &Workdir, password: &str) -> std::process::Output {
    w.run_with_env(&[("LIST_IMAP_PASSWORD", password), ("RUST_LOG", "info")])
}

fn received(out: &std::process::Output) -> u64 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("run finished")).expect("a summary");
    let at = line.find("received=").expect("received=") + "received=".len();
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_forwarded_chain_over_imaps_is_one_incident_and_no_flag_changes() {
    let server = Dovecot::start();
    let messages = chain();
    assert_eq!(messages.len(), 6, "the archive's messages");
    // Years old: outside the first run's window (`since_days`, 30).
    server.deliver_old(
        b"From: Lama <lama@mail.example>\r\nSubject: Klinik Medika Utama 2020\r\nMessage-ID: <old1@mail.example>\r\n\r\nKlinik Medika Utama dulu lambat sekali.\r\n",
    );
    server.deliver(&messages);
    let w = Workdir::with_sources(&server.source("implicit", "once = true"), "");
    let out = run(&w, PASSWORD);
    assert_ok(&out);
    assert_eq!(received(&out), 6);
    let tickets = w.tickets();
    assert_one_chain_incident(&tickets, CHAIN);
    // Read-only: every message is still unread for the team's mail client.
    let flags = server.flags();
    assert_eq!(flags.len(), 7);
    assert!(flags.iter().all(|f| !f.contains("Seen")), "{flags:?}");
    // The password never shows in what earshot says.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));

    // Again: nothing is read twice; a new message (and a malformed one) are.
    server.deliver(&[
        b"X-Mailer: broken\r\n\r\n".to_vec(),
        b"From: Sari <sari@mail.example>\r\nSubject: Terima kasih\r\nMessage-ID: <t1@mail.example>\r\n\
          Date: Tue, 5 May 2026 09:00:00 +0700\r\n\r\nTerima kasih perawat Klinik Medika Utama, sangat ramah.\r\n"
            .to_vec(),
    ]);
    let out = run(&w, PASSWORD);
    assert_ok(&out);
    assert_eq!(received(&out), 1, "only the new message");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("malformed item skipped") && stderr.contains("Lists/"),
        "{stderr}"
    );
    assert_eq!(keys(&w.tickets()), keys(&tickets));
}

#[test]
fn idle_reads_each_message_as_it_arrives_over_starttls() {
    let server = Dovecot::start();
    let messages = chain();
    server.deliver(&messages[..1]);
    // Polling would wait ten minutes: only IDLE can see the next messages in time.
    let w = Workdir::with_sources(&server.source("starttls", "interval_secs = 600"), "");
    let child = w.spawn_with_env(&[("LIST_IMAP_PASSWORD", PASSWORD)]);
    let mut running = Running(child);
    // Waits for the incident to hold `posts` posts; returns its ids.
    let wait_for = |posts: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = w.command(&["incidents", "list", "--json"]);
            let listed = String::from_utf8_lossy(&out.stdout);
            let ids: Vec<serde_json::Value> = listed
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .flat_map(|i| i["post_ids"].as_array().cloned().unwrap_or_default())
                .collect();
            if ids.len() >= posts {
                return ids;
            }
            assert!(Instant::now() < deadline, "no incident with {posts} posts: {listed}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert_eq!(wait_for(1), ["lists:c1.rudi@mail.example"]);
    // The rest of the chain, while earshot idles.
    server.deliver(&messages[1..]);
    wait_for(4);
    assert_one_chain_incident(&w.tickets(), CHAIN);
    signal(&running.0, "TERM");
    let status = running.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_renumbered_mailbox_is_read_again_without_counting_twice() {
    let server = Dovecot::start();
    let messages = chain();
    server.deliver(&messages);
    let w = Workdir::with_sources(&server.source("implicit", "once = true"), "");
    assert_ok(&run(&w, PASSWORD));
    let tickets = w.tickets();
    assert_one_chain_incident(&tickets, CHAIN);
    server.renumber(&messages);
    let out = run(&w, PASSWORD);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("UIDVALIDITY changed"), "{stderr}");
    assert_eq!(received(&out), 6, "every message read again");
    assert_eq!(keys(&w.tickets()), keys(&tickets), "and none counted twice");
}

#[test]
fn a_refused_login_names_the_source_and_hides_the_password() {
    let server = Dovecot::start();
    server.deliver(&chain()[..1]);
    let w = Workdir::with_sources(&server.source("implicit", "once = true"), "");
    let out = run(&w, "wrong-password-123");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("source `lists`") && stderr.contains("login as `patient-relations` refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-password-123"), "{stderr}");
    // A certificate nobody trusts is refused too.
    let untrusted = Workdir::with_sources(
        &server.source("implicit", "once = true").replace(
            &server.ca_file().display().to_string(),
            &new_ca(w.dir.path(), "other").display().to_string(),
        ),
        "",
    );
    let out = run(&untrusted, PASSWORD);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate is not trusted"), "{stderr}");
}

/// `openssl ARGS FILES` in `dir`.
fn openssl(args: &[&str], files: &[&str], dir: &Path) {
    let made = Command::new("openssl")
        .args(args)
        .args(files)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl {args:?}");
}

/// A throw-away CA (`ca.pem`) that signed the server's `cert.pem` for
/// 127.0.0.1, as a hospital's own CA would.
fn certificates(d: &Path) {
    new_ca(d, "ca");
    openssl(
        &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"],
        &["-keyout", "key.pem", "-out", "server.csr"],
        d,
    );
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
        ],
        &["-extfile", "server.ext", "-out", "cert.pem"],
        d,
    );
}

/// A self-signed CA, `NAME.pem` with its key `NAME.key`, in `dir`.
fn new_ca(dir: &Path, name: &str) -> PathBuf {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let subject = format!("/CN=earshot test {name}");
    openssl(
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject,
        ],
        &["-keyout", &key, "-out", &pem],
        dir,
    );
    dir.join(pem)
}
