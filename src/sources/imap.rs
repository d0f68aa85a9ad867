//! IMAP: a mailing list's mailbox on a mail server (Dovecot, Exchange,
//! Gmail), read-only. The mailbox is opened with EXAMINE and messages are
//! fetched with BODY.PEEK[], so no flag changes: the patient-relations
//! team's own mail client still sees every message unread. Messages are
//! posts of channel `email`, decoded as the mbox source decodes them.
//! With IDLE (when the server offers it) a new message is read as it
//! arrives; without it the mailbox is polled.
//!
//! Read from its start (the first run), a mailbox gives only the messages
//! that arrived in the last `since_days` days.
//!
//! Cursor: `{"uidvalidity": V, "uid": U}`, the last UID whose effects are
//! durable. A server that renumbers the mailbox (a new UIDVALIDITY) has
//! every message read again; their Message-IDs are seen already, so none is
//! counted twice.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::{ImapConfig, ImapTls};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Position {
    uidvalidity: u32,
    uid: u32,
}

/// Messages fetched in one request: bounds memory on a large backlog.
const BATCH: usize = 50;
/// Servers end an IDLE after 30 minutes; renew it before.
const IDLE_RENEWAL: Duration = Duration::from_secs(25 * 60);

trait Connection: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Connection for T {}

type Session = async_imap::Session<Box<dyn Connection>>;

/// Why a connection ended.
enum Trouble {
    /// The server or the network: try again after a backoff.
    Transient(String),
    /// The server refused the login or the mailbox: retrying cannot help.
    Fatal(String),
}

impl From<async_imap::error::Error> for Trouble {
    fn from(e: async_imap::error::Error) -> Self {
        Trouble::Transient(e.to_string())
    }
}

impl From<std::io::Error> for Trouble {
    fn from(e: std::io::Error) -> Self {
        Trouble::Transient(e.to_string())
    }
}

struct Reader<'a> {
    config: &'a ImapConfig,
    ctx: &'a SourceContext,
    password: String,
    tls: TlsConnector,
    timeout: Duration,
    /// The last UID read in this process (at first: the durable cursor).
    at: Option<Position>,
}

pub async fn run(config: ImapConfig, ctx: SourceContext) -> SourceResult {
    let password = ctx.secret(&config.password_env, "the IMAP password")?;
    let at = match &ctx.resume {
        Some(p) => Some(serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?),
        None => None,
    };
    let tls = super::tls_connector(config.ca_file.as_deref()).map_err(|e| ctx.fail(e))?;
    let mut reader = Reader {
        timeout: Duration::from_secs(config.timeout_secs.max(1)),
        config: &config,
        ctx: &ctx,
        password,
        tls,
        at,
    };
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        match reader.session().await {
            Ok(session) => match reader.follow(session).await {
                Ok(()) if ctx.stop.is_cancelled() => return Ok(()),
                Ok(()) => {}
                Err(Trouble::Fatal(e)) => {
                    ctx.error("refused");
                    return Err(ctx.fail(e));
                }
                Err(Trouble::Transient(e)) => {
                    ctx.error("network");
                    tracing::warn!(source = %ctx.name, host = %config.host, error = %e, "IMAP connection lost; reconnecting");
                    pacing.failed(Duration::ZERO);
                }
            },
            Err(Trouble::Fatal(e)) => {
                ctx.error("refused");
                return Err(ctx.fail(e));
            }
            Err(Trouble::Transient(e)) => {
                ctx.error("network");
                tracing::warn!(source = %ctx.name, host = %config.host, error = %e, "IMAP server unreachable; retrying");
                pacing.failed(Duration::ZERO);
            }
        }
        if !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}

impl Reader<'_> {
    /// Bounds a network step by the configured timeout.
    async fn timed<T, E: Into<Trouble>>(
        &self,
        what: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Trouble> {
        match tokio::time::timeout(self.timeout, step).await {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Err(Trouble::Transient(format!("{what}: no answer in {:?}", self.timeout))),
        }
    }

    async fn upgrade(&self, tcp: TcpStream) -> Result<Box<dyn Connection>, Trouble> {
        let name = rustls::pki_types::ServerName::try_from(self.config.host.clone())
            .map_err(|e| Trouble::Fatal(format!("host `{}`: {e}", self.config.host)))?;
        match tokio::time::timeout(self.timeout, self.tls.connect(name, tcp)).await {
            Ok(Ok(tls)) => Ok(Box::new(tls)),
            Ok(Err(e)) => match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidCertificate(why)) => Err(Trouble::Fatal(format!(
                    "{}: the server's certificate is not trusted ({why:?}); name its CA in ca_file",
                    self.config.host
                ))),
                _ => Err(Trouble::Transient(format!("TLS handshake: {e}"))),
            },
            Err(_) => Err(Trouble::Transient("TLS handshake: no answer".into())),
        }
    }

    async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug>(
        &self,
        client: &mut async_imap::Client<T>,
    ) -> Result<(), Trouble> {
        self.timed("greeting", client.read_response())
            .await?
            .map(drop)
            .ok_or_else(|| Trouble::Transient("the server closed the connection before its greeting".into()))
    }

    async fn greeted(&self, stream: Box<dyn Connection>) -> Result<async_imap::Client<Box<dyn Connection>>, Trouble> {
        let mut client = async_imap::Client::new(stream);
        self.greeting(&mut client).await?;
        Ok(client)
    }

    /// Connects, signs in and opens the mailbox read-only.
    async fn session(&self) -> Result<Session, Trouble> {
        let config = self.config;
        let port = config.port.unwrap_or(match config.tls {
            ImapTls::Implicit => 993,
            ImapTls::Starttls | ImapTls::None => 143,
        });
        let tcp = self
            .timed("connect", TcpStream::connect((config.host.as_str(), port)))
            .await?;
        let client = match config.tls {
            ImapTls::Implicit => self.greeted(self.upgrade(tcp).await?).await?,
            ImapTls::None => self.greeted(Box::new(tcp)).await?,
            ImapTls::Starttls => {
                let mut plain = async_imap::Client::new(tcp);
                self.greeting(&mut plain).await?;
                self.timed("STARTTLS", plain.run_command_and_check_ok("STARTTLS", None))
                    .await?;
                // No greeting after STARTTLS.
                async_imap::Client::new(self.upgrade(plain.into_inner()).await?)
            }
        };
        let login = tokio::time::timeout(self.timeout, client.login(&config.username, &self.password)).await;
        let mut session = match login {
            Ok(Ok(session)) => session,
            Ok(Err((async_imap::error::Error::No(why), _))) => {
                return Err(Trouble::Fatal(format!(
                    "{}: login as `{}` refused: {why}",
                    config.host, config.username
                )));
            }
            Ok(Err((e, _))) => return Err(e.into()),
            Err(_) => return Err(Trouble::Transient("login: no answer".into())),
        };
        match tokio::time::timeout(self.timeout, session.examine(&config.mailbox)).await {
            Ok(Ok(_)) => {}
            Ok(Err(async_imap::error::Error::No(why))) => {
                return Err(Trouble::Fatal(format!("mailbox `{}`: {why}", config.mailbox)));
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(Trouble::Transient("EXAMINE: no answer".into())),
        }
        Ok(session)
    }

    /// Reads what is new, then waits for more (IDLE) until stopped; returns
    /// after one pass when polling.
    async fn follow(&mut self, mut session: Session) -> Result<(), Trouble> {
        let idle = self.config.idle
            && !self.config.once
            && self.timed("CAPABILITY", session.capabilities()).await?.has_str("IDLE");
        loop {
            let mailbox = self.timed("EXAMINE", session.examine(&self.config.mailbox)).await?;
            let validity = mailbox.uid_validity.unwrap_or(0);
            let after = match self.at {
                Some(p) if p.uidvalidity == validity => p.uid,
                Some(p) => {
                    tracing::warn!(
                        source = %self.ctx.name, mailbox = %self.config.mailbox, was = p.uidvalidity, now = validity,
                        "the mailbox was renumbered (UIDVALIDITY changed); reading it again from the start"
                    );
                    0
                }
                None => 0,
            };
            let more = self.read_new(&mut session, validity, after).await?;
            self.ctx.healthy();
            if !more || !idle {
                let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
                return Ok(());
            }
            session = match self.wait(session).await? {
                Some(session) => session,
                None => return Ok(()),
            };
        }
    }

    /// Emits every message above `after`; false once the source stops.
    async fn read_new(&mut self, session: &mut Session, validity: u32, after: u32) -> Result<bool, Trouble> {
        let mut query = format!("UID {}:*", after.saturating_add(1));
        if after == 0 && self.config.since_days > 0 {
            // From the start: only what arrived lately (SINCE reads the
            // server's arrival date, in IMAP's `d-Mon-yyyy`).
            let since = chrono::Utc::now() - chrono::Duration::days(i64::from(self.config.since_days));
            query.push_str(&format!(" SINCE {}", since.format("%-d-%b-%Y")));
        }
        self.ctx.request();
        let found = self.timed("UID SEARCH", session.uid_search(&query)).await?;
        // `N:*` matches the last message even below N.
        let mut uids: Vec<u32> = found.into_iter().filter(|&u| u > after).collect();
        uids.sort_unstable();
        for batch in uids.chunks(BATCH) {
            let set = batch.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            self.ctx.request();
            let mut messages: Vec<_> = self
                .timed("UID FETCH", async {
                    session
                        .uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
            messages.sort_by_key(|m| m.uid);
            for message in messages {
                let Some(uid) = message.uid else { continue };
                let place = format!("{}/{validity}/{uid}", self.config.mailbox);
                let received = message.internal_date().map_or(0, |d| d.timestamp());
                let post = match message.body() {
                    Some(raw) => crate::email::to_post(
                        &self.ctx.name,
                        &self.config.channel,
                        self.config.members,
                        raw,
                        &place,
                        received,
                    ),
                    None => Err("the server sent no body".into()),
                };
                let post = match post {
                    Ok(post) => Some(post),
                    Err(e) => {
                        self.ctx.malformed(&place, &e);
                        None
                    }
                };
                let position = Position {
                    uidvalidity: validity,
                    uid,
                };
                let cursor = serde_json::to_string(&position).expect("positions serialize");
                if !self.ctx.emit(post, cursor).await {
                    return Ok(false);
                }
                self.at = Some(position);
            }
        }
        if self.at.is_none_or(|p| p.uidvalidity != validity) {
            // An empty mailbox: remember its numbering all the same.
            self.at = Some(Position {
                uidvalidity: validity,
                uid: after,
            });
        }
        Ok(!self.ctx.stop.is_cancelled())
    }

    /// IDLE until the mailbox changes, the renewal time passes or the
    /// source stops (`None`).
    async fn wait(&self, session: Session) -> Result<Option<Session>, Trouble> {
        let mut idle = session.idle();
        self.timed("IDLE", idle.init()).await?;
        let renewal = IDLE_RENEWAL.min(Duration::from_secs(self.config.interval_secs.max(1)));
        let stopped = {
            let (changed, _interrupt) = idle.wait_with_timeout(renewal);
            tokio::select! {
                r = changed => { r?; false }
                _ = self.ctx.stop.cancelled() => true,
            }
        };
        let mut session = self.timed("DONE", idle.done()).await?;
        if stopped {
            let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
            return Ok(None);
        }
        Ok(Some(session))
    }
}
