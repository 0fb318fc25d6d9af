//! The notes' terminal menu (`protolab client chat`): first 1 log in,
//! 2 register, 3 exit; once logged in, list online users, send to all, send to
//! one, read offline messages, send a file, log out.
//!
//! While the menu waits for a line of input it keeps reading the connection,
//! so messages from others appear as they arrive (the notes do the same with a
//! goroutine that keeps reading the server). Input is any async line reader,
//! output any `io::Write`: the tests drive the menu with piped text.

use crate::output::words::plural;
use std::io::Write;
use std::path::PathBuf;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, Lines};

use super::client::{ChatClient, ClientError};
use super::message::{code, Message, UserInfo};

const MAIN: &str = "\
---------------- 欢迎登陆多人聊天系统 / welcome to the chat ----------------
        1 登录聊天系统 log in
        2 注册用户 register
        3 退出系统 exit
        请选择 choose (1-3):";

const LOGGED_IN: &str = "\
---------------- 菜单 menu ----------------
        1 显示在线用户列表 list online users
        2 发送消息 send to all
        3 私聊 send to one
        4 信息列表 read offline messages
        5 发送文件 send a file
        6 退出登录 log out
        请选择 choose (1-6):";

/// Why the menu stopped early.
#[derive(Debug, thiserror::Error)]
pub enum MenuError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

struct Menu<'a, R, W> {
    client: ChatClient,
    input: Lines<R>,
    out: &'a mut W,
    /// The server went away: nothing to log out of or close.
    gone: bool,
    /// Input is the terminal: passwords are typed without echo.
    terminal: bool,
    /// Ctrl-C, on a terminal: it ends the menu as `3 exit` does, so a password
    /// prompt gives the terminal its echo back instead of dying with it off.
    interrupt: Option<tokio::signal::unix::Signal>,
}

/// Runs the menu until the user exits or the input ends; with `login`, logs in first.
/// `terminal`: the input is the terminal (stdin is a tty), so passwords are
/// read without echo; piped input is read as it is.
pub async fn run<R, W>(
    client: ChatClient,
    input: R,
    out: &mut W,
    login: Option<(u32, String)>,
    terminal: bool,
) -> Result<(), MenuError>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let mut menu = Menu {
        client,
        input: input.lines(),
        out,
        gone: false,
        terminal,
        interrupt: if terminal {
            Some(tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::interrupt(),
            )?)
        } else {
            None
        },
    };
    if let Some((id, password)) = login {
        menu.login(id, &password).await?;
    }
    loop {
        if menu.client.user.is_some() {
            if !menu.logged_in_round().await? {
                break;
            }
        } else {
            writeln!(menu.out, "{MAIN}")?;
            let Some(choice) = menu.ask("").await? else {
                break;
            };
            match choice.as_str() {
                "1" => {
                    let (Some(id), Some(pw)) = (
                        menu.ask_id("请输入用户id user id:").await?,
                        menu.ask_secret("请输入用户密码 password:").await?,
                    ) else {
                        break;
                    };
                    menu.login(id, &pw).await?;
                }
                "2" => {
                    let Some(id) = menu.ask_id("请输入用户id user id:").await? else {
                        break;
                    };
                    let (Some(pw), Some(name)) = (
                        menu.ask_secret("请输入用户密码 password:").await?,
                        menu.ask("请输入用户名字 name:").await?,
                    ) else {
                        break;
                    };
                    let res = menu.client.register(id, &name, &pw).await?;
                    if res.code == code::OK {
                        writeln!(menu.out, "注册成功 registered {id}; now log in (1)")?;
                    } else {
                        writeln!(
                            menu.out,
                            "注册失败 register failed: {} {}",
                            res.code, res.error
                        )?;
                    }
                }
                "3" => break,
                other => writeln!(
                    menu.out,
                    "输入有误 no such choice {other:?}: type 1, 2 or 3"
                )?,
            }
        }
    }
    writeln!(menu.out, "退出系统 bye")?;
    if !menu.gone {
        menu.client.close().await?;
    }
    Ok(())
}

impl<R: AsyncBufRead + Unpin, W: Write> Menu<'_, R, W> {
    /// Prints `prompt`, then waits for a line while showing what arrives.
    /// `None` when the input ended.
    async fn ask(&mut self, prompt: &str) -> Result<Option<String>, MenuError> {
        if !prompt.is_empty() {
            writeln!(self.out, "{prompt}")?;
        }
        self.out.flush()?;
        loop {
            tokio::select! {
                line = self.input.next_line() => {
                    return Ok(line?.map(|l| l.trim().to_string()));
                }
                _ = interrupted(&mut self.interrupt) => {
                    writeln!(self.out)?;
                    return Ok(None);
                }
                m = self.client.recv() => {
                    match m {
                        Ok(m) => {
                            self.show(&m)?;
                            if let Message::ErrorMes(e) = &m {
                                if e.code == code::GOING_AWAY {
                                    return self.server_gone();
                                }
                            }
                        }
                        Err(ClientError::Closed) => return self.server_gone(),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// [`Menu::ask`] for a password: on a terminal, what is typed is not shown.
    async fn ask_secret(&mut self, prompt: &str) -> Result<Option<String>, MenuError> {
        let echo = self.terminal.then(EchoOff::new).flatten();
        let line = self.ask(prompt).await;
        if echo.is_some() {
            // The Enter that ended the line was not echoed either.
            writeln!(self.out)?;
        }
        line
    }

    /// The server shut down or closed the connection: the menu ends as if the
    /// input had (exit code 0, as for `3 exit`), without waiting for a key.
    fn server_gone(&mut self) -> Result<Option<String>, MenuError> {
        writeln!(
            self.out,
            "服务器已关闭连接 the server closed the connection"
        )?;
        self.gone = true;
        Ok(None)
    }

    async fn ask_id(&mut self, prompt: &str) -> Result<Option<u32>, MenuError> {
        loop {
            let Some(line) = self.ask(prompt).await? else {
                return Ok(None);
            };
            match line.parse() {
                Ok(id) => return Ok(Some(id)),
                Err(_) => writeln!(
                    self.out,
                    "输入有误 {line:?} 不是用户id，请输入数字 / {line:?} is not a user id: type a number"
                )?,
            }
        }
    }

    fn show(&mut self, m: &Message) -> std::io::Result<()> {
        match m {
            Message::OfflineMes(_) => {
                writeln!(self.out, "(新的离线留言 an offline message: menu 4)")
            }
            Message::FileDoneMes(_) => {
                writeln!(self.out, "<- {}", m.describe())?;
                // The client checked and (maybe) saved the file as the Done arrived.
                match self.client.received_files.last() {
                    Some(file) => writeln!(self.out, "   {}", file.describe()),
                    None => Ok(()),
                }
            }
            _ => writeln!(self.out, "<- {}", m.describe()),
        }
    }

    async fn login(&mut self, id: u32, password: &str) -> Result<(), MenuError> {
        let res = self.client.login(id, password).await?;
        if res.code == code::OK {
            writeln!(
                self.out,
                "---------------- 恭喜 {} 登录成功 logged in; online: {:?}; {} ----------------",
                res.user_name,
                res.users_id,
                plural(res.offline, "offline message", "offline messages")
            )?;
        } else {
            writeln!(
                self.out,
                "登录失败 login failed: {} {}",
                res.code, res.error
            )?;
        }
        Ok(())
    }

    /// One round of the logged-in menu; `false` when the input ended.
    async fn logged_in_round(&mut self) -> Result<bool, MenuError> {
        writeln!(self.out, "{LOGGED_IN}")?;
        let Some(choice) = self.ask("").await? else {
            return Ok(false);
        };
        match choice.as_str() {
            "1" => {
                writeln!(self.out, "当前在线用户列表 online users:")?;
                for (id, name) in &self.client.online {
                    writeln!(self.out, "  {}", UserInfo::label_of(*id, name))?;
                }
            }
            "2" => {
                let Some(text) = self.ask("请输入你想对大家说的话 message to all:").await?
                else {
                    return Ok(false);
                };
                self.client.broadcast(&text).await?;
            }
            "3" => {
                let Some(to) = self.ask_id("发给谁 to user id:").await? else {
                    return Ok(false);
                };
                let Some(text) = self.ask("内容 message:").await? else {
                    return Ok(false);
                };
                let res = self.client.private(to, &text).await?;
                writeln!(self.out, "<- {}", Message::PrivateResMes(res).describe())?;
            }
            "4" => {
                let stored = std::mem::take(&mut self.client.offline);
                if stored.is_empty() {
                    writeln!(self.out, "没有离线留言 no offline messages")?;
                }
                for m in stored {
                    writeln!(self.out, "  {}", Message::OfflineMes(m).describe())?;
                }
            }
            "5" => {
                let Some(to) = self.ask_id("发给谁 to user id:").await? else {
                    return Ok(false);
                };
                let Some(path) = self.ask("文件 file path:").await? else {
                    return Ok(false);
                };
                match self.client.send_file_path(to, &PathBuf::from(path)).await {
                    Ok(res) => writeln!(self.out, "<- {}", Message::FileResMes(res).describe())?,
                    Err(ClientError::Local(e)) => writeln!(self.out, "{e}")?,
                    Err(e) => return Err(e.into()),
                }
            }
            "6" => {
                self.client.logout().await?;
                writeln!(self.out, "已退出登录 logged out")?;
            }
            other => writeln!(self.out, "输入有误 no such choice {other:?}: type 1 to 6")?,
        }
        Ok(true)
    }
}

/// Waits for Ctrl-C when the menu listens for it; never returns otherwise.
async fn interrupted(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Terminal echo switched off on stdin until dropped (then restored as it was,
/// also when the menu ends with an error).
struct EchoOff {
    saved: nix::sys::termios::Termios,
}

impl EchoOff {
    /// `None` when stdin is not a terminal (nothing to hide) or refuses the change.
    fn new() -> Option<Self> {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).ok()?;
        Some(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}
