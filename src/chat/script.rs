//! `protolab client chat --script FILE`: the client without a terminal, one
//! command a line, for tests, demos and the lab.
//!
//! ```text
//! # comments and blank lines are ignored
//! register 100 alice 123456      # ID NAME PASSWORD
//! login 100 123456               # ID PASSWORD
//! online                         # print who is online
//! broadcast hello everyone       # SmsMes to all
//! private 200 hi bob             # to one user (stored when offline)
//! offline                        # print the offline messages of the login
//! sendfile 200 ./notes.txt       # to an online user, checked by size and SHA-256
//! expect SmsMes hello            # wait (10 s) for a message of that type, containing the text
//! sleep 200                      # milliseconds
//! logout
//! quit                           # optional: the script ends here
//! ```
//!
//! The whole script is parsed before anything is sent, so a typo is reported
//! with its line number and nothing happens. Answers and received messages are
//! printed one per line (`<- LoginResMes 200 …`). An answer with an error code
//! (4xx, 5xx) does not stop the script, but it is counted: the command exits 1
//! at the end, so a shell script or CI job notices.

use crate::output::words::plural;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::client::{ChatClient, ClientError};
use super::message::{Message, TYPES};

/// One script command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Register {
        id: u32,
        name: String,
        password: String,
    },
    Login {
        id: u32,
        password: String,
    },
    Online,
    Broadcast(String),
    Private {
        to: u32,
        text: String,
    },
    Offline,
    SendFile {
        to: u32,
        path: PathBuf,
    },
    Expect {
        kind: String,
        text: String,
    },
    Sleep(Duration),
    Logout,
    Quit,
}

/// A script line that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("script line {line} ({text:?}): {problem}")]
pub struct ScriptError {
    pub line: usize,
    pub text: String,
    pub problem: String,
}

const USAGE: &str = "commands: register ID NAME PASSWORD | login ID PASSWORD | online | \
                     broadcast TEXT | private ID TEXT | offline | sendfile ID PATH | \
                     expect TYPE [TEXT] | sleep MS | logout | quit";

/// Parses a whole script.
pub fn parse(script: &str) -> Result<Vec<Command>, ScriptError> {
    let mut out = Vec::new();
    for (i, raw) in script.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |problem: String| ScriptError {
            line: i + 1,
            text: raw.to_string(),
            problem,
        };
        out.push(parse_line(line).map_err(fail)?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Command, String> {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let mut args = rest.split_whitespace();
    let id = |s: Option<&str>| -> Result<u32, String> {
        let s = s.ok_or("a user ID is missing")?;
        s.parse()
            .map_err(|_| format!("user ID {s:?} is not a number (1 to 4294967295)"))
    };
    let text_after = |n: usize| -> String {
        rest.splitn(n + 1, char::is_whitespace)
            .nth(n)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let command = match word {
        "register" => {
            let id = id(args.next())?;
            let (Some(name), Some(password)) = (args.next(), args.next()) else {
                return Err("usage: register ID NAME PASSWORD".into());
            };
            Command::Register {
                id,
                name: name.into(),
                password: password.into(),
            }
        }
        "login" => {
            let id = id(args.next())?;
            let password = args.next().ok_or("usage: login ID PASSWORD")?;
            Command::Login {
                id,
                password: password.into(),
            }
        }
        "online" => Command::Online,
        "broadcast" => Command::Broadcast(rest.to_string()),
        "private" => Command::Private {
            to: id(args.next())?,
            text: text_after(1),
        },
        "offline" => Command::Offline,
        "sendfile" => {
            let to = id(args.next())?;
            let path = text_after(1);
            if path.is_empty() {
                return Err("usage: sendfile ID PATH".into());
            }
            Command::SendFile {
                to,
                path: path.into(),
            }
        }
        "expect" => {
            let kind = args.next().ok_or("usage: expect TYPE [TEXT]")?;
            if !TYPES.contains(&kind) {
                return Err(format!(
                    "unknown message type {kind:?}; known: {}",
                    TYPES.join(", ")
                ));
            }
            Command::Expect {
                kind: kind.into(),
                text: text_after(1),
            }
        }
        "sleep" => {
            let ms = args.next().ok_or("usage: sleep MS")?;
            let ms: u64 = ms
                .parse()
                .map_err(|_| format!("{ms:?} is not a number of milliseconds"))?;
            Command::Sleep(Duration::from_millis(ms))
        }
        "logout" => Command::Logout,
        "quit" | "exit" => Command::Quit,
        other => return Err(format!("unknown command {other:?}; {USAGE}")),
    };
    Ok(command)
}

/// Why a script run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("expect {kind} {text:?}: not received within 10 s")]
    Expect { kind: String, text: String },
    #[error(transparent)]
    Output(#[from] std::io::Error),
}

/// What a script run saw of its requests' answers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Requests answered (register, login, private, sendfile, logout).
    pub requests: usize,
    /// The answers that carried an error code, as printed.
    pub failed: Vec<String>,
}

impl Outcome {
    /// Prints one answer (`<- LoginResMes 200 …`) and counts it.
    fn print_answer(
        &mut self,
        out: &mut impl Write,
        code: u16,
        message: Message,
    ) -> std::io::Result<()> {
        let line = message.describe();
        writeln!(out, "<- {line}")?;
        self.answered(code, line);
        Ok(())
    }

    /// Counts one answer; `line` is how it was printed.
    fn answered(&mut self, code: u16, line: String) {
        self.requests += 1;
        if is_error(code) {
            self.failed.push(line);
        }
    }

    /// One line for standard error when some request failed, e.g.
    /// `1 of 2 requests answered with an error: LoginResMes 403 wrong password`.
    pub fn failure_summary(&self) -> Option<String> {
        (!self.failed.is_empty()).then(|| {
            format!(
                "{} of {} answered with an error: {}",
                self.failed.len(),
                plural(self.requests, "request", "requests"),
                self.failed.join("; ")
            )
        })
    }
}

/// 4xx and 5xx: the server refused or could not do the request (200 OK and
/// 202 stored-for-later are successes).
pub fn is_error(code: u16) -> bool {
    code >= 400
}

/// Runs `commands` on `client`, printing to `out`; closes the connection at the end.
///
/// An answer with an error code does not stop the script (the next commands may
/// not depend on it): it is printed as any other and counted in the [`Outcome`].
pub async fn run(
    mut client: ChatClient,
    commands: &[Command],
    out: &mut impl Write,
) -> Result<Outcome, RunError> {
    let mut outcome = Outcome::default();
    for command in commands {
        match command {
            Command::Register { id, name, password } => {
                let res = client.register(*id, name, password).await?;
                outcome.print_answer(out, res.code, Message::RegisterResMes(res))?;
            }
            Command::Login { id, password } => {
                let res = client.login(*id, password).await?;
                outcome.print_answer(out, res.code, Message::LoginResMes(res))?;
            }
            Command::Online => {
                let list: Vec<String> = client
                    .online
                    .iter()
                    .map(|(id, name)| super::message::UserInfo::label_of(*id, name))
                    .collect();
                writeln!(out, "online: {}", list.join(", "))?;
            }
            Command::Broadcast(text) => client.broadcast(text).await?,
            Command::Private { to, text } => {
                let res = client.private(*to, text).await?;
                outcome.print_answer(out, res.code, Message::PrivateResMes(res))?;
            }
            Command::Offline => {
                for m in std::mem::take(&mut client.offline) {
                    writeln!(out, "<- {}", Message::OfflineMes(m).describe())?;
                }
            }
            Command::SendFile { to, path } => {
                let res = client.send_file_path(*to, path).await?;
                outcome.print_answer(out, res.code, Message::FileResMes(res))?;
            }
            Command::Expect { kind, text } => {
                let found = client
                    .wait_for(|m| {
                        let line = m.describe();
                        (m.type_name() == kind && line.contains(text.as_str())).then_some(line)
                    })
                    .await;
                match found {
                    Ok(line) => writeln!(out, "<- {line}")?,
                    Err(ClientError::Timeout(_)) => {
                        return Err(RunError::Expect {
                            kind: kind.clone(),
                            text: text.clone(),
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Command::Sleep(d) => tokio::time::sleep(*d).await,
            Command::Logout => {
                let res = client.logout().await?;
                outcome.print_answer(out, res.code, Message::LogoutResMes(res))?;
            }
            Command::Quit => break,
        }
    }
    client.close().await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_parses() {
        let cmds = parse(
            "# demo\nregister 100 alice 123456\nlogin 100 123456 # go\n\nprivate 200 hi  bob\n\
             expect SmsMes hello there\nsleep 5\nquit\n",
        )
        .unwrap();
        assert_eq!(cmds.len(), 6);
        assert_eq!(
            cmds[2],
            Command::Private {
                to: 200,
                text: "hi  bob".into()
            }
        );
        assert_eq!(
            cmds[3],
            Command::Expect {
                kind: "SmsMes".into(),
                text: "hello there".into()
            }
        );
    }

    #[test]
    fn error_answers_are_counted_and_summarised() {
        let mut outcome = Outcome::default();
        outcome.answered(200, "RegisterResMes 200".into());
        outcome.answered(
            202,
            "PrivateResMes 202 to 200 user 200 is offline: stored".into(),
        );
        assert_eq!(outcome.failure_summary(), None);
        outcome.answered(403, "LoginResMes 403 wrong password".into());
        outcome.answered(500, "RegisterResMes 500 store failed".into());
        assert_eq!(
            outcome.failure_summary().as_deref(),
            Some(
                "2 of 4 requests answered with an error: LoginResMes 403 wrong password; \
                 RegisterResMes 500 store failed"
            )
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("login 100 pw\nprivate bob hi\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "script line 2 (\"private bob hi\"): user ID \"bob\" is not a number (1 to 4294967295)"
        );
        let e = parse("dance\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown command \"dance\"; commands: register"),
            "{e}"
        );
        let e = parse("expect Sms\n").unwrap_err();
        assert!(
            e.to_string().contains("unknown message type \"Sms\""),
            "{e}"
        );
    }
}
