//! The chat's messages: one JSON object per frame, `{"type": "LoginMes", "data": {…}}`,
//! with the type names and camelCase field names of the notes' Go structs
//! (`LoginMes`, `LoginResMes`, `RegisterMes`, `RegisterResMes`,
//! `NotifyUserStatusMes`, `SmsMes`), plus what the notes leave as exercises:
//! private messages, offline delivery, logout, file transfer and errors.
//!
//! The notes marshal `data` twice: the struct's JSON goes into `data` as a JSON
//! *string*, and the whole `Message` is marshalled again
//! (`{"type":"LoginMes","data":"{\"userId\":100,…}"}`). That is the form on the
//! wire ([`DataForm::String`]), in both directions, because a Go client typed
//! as the notes type it (`Data string`) fails on anything else. A nested object
//! ([`DataForm::Object`]) reads better in a capture; it is accepted too, and the
//! server answers each client in the form that client uses.
//!
//! Parsing keeps apart what the server must tell the client: not UTF-8, not
//! JSON, not a message object, an unknown type, or a known type with bad data
//! ([`MessageError`], each with its result code).

use crate::output::words::plural;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Result codes, HTTP-like as in the notes (`200` ok, `500`/`403` failures).
pub mod code {
    pub const OK: u16 = 200;
    /// A private message or file to an offline user was stored for later.
    pub const STORED: u16 = 202;
    pub const BAD_REQUEST: u16 = 400;
    /// The message needs a logged-in session.
    pub const NOT_LOGGED_IN: u16 = 401;
    pub const BAD_PASSWORD: u16 = 403;
    pub const UNKNOWN_USER: u16 = 404;
    /// Idle for longer than the idle timeout.
    pub const IDLE: u16 = 408;
    /// Login: the user is online already. Register: the id is taken.
    pub const CONFLICT: u16 = 409;
    pub const TOO_LARGE: u16 = 413;
    /// A file arrived with the wrong size or checksum.
    pub const CHECK_FAILED: u16 = 422;
    /// Too many failed logins on one connection.
    pub const TOO_MANY: u16 = 429;
    pub const STORE_FAILED: u16 = 500;
    pub const UNKNOWN_TYPE: u16 = 501;
    /// The server is shutting down, or dropped a client that reads too slowly.
    pub const GOING_AWAY: u16 = 503;
}

/// `UserStatus` of the notes: `UserOnline = iota`, `UserOffline`.
pub mod status {
    pub const ONLINE: u8 = 0;
    pub const OFFLINE: u8 = 1;
}

/// A user as others see them (never with the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub user_id: u32,
    #[serde(default)]
    pub user_name: String,
}

impl UserInfo {
    /// `alice (100)`, or `100` without a name.
    pub fn label(&self) -> String {
        UserInfo::label_of(self.user_id, &self.user_name)
    }

    pub fn label_of(id: u32, name: &str) -> String {
        if name.is_empty() {
            id.to_string()
        } else {
            format!("{name} ({id})")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginMes {
    pub user_id: u32,
    pub user_pwd: String,
    #[serde(default)]
    pub user_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResMes {
    pub code: u16,
    /// Ids of the users online, as in the notes' `UsersId`.
    #[serde(default)]
    pub users_id: Vec<u32>,
    /// The same users with their names.
    #[serde(default)]
    pub users: Vec<UserInfo>,
    /// The logged-in user's name.
    #[serde(default)]
    pub user_name: String,
    /// How many `OfflineMes` follow this answer.
    #[serde(default)]
    pub offline: u32,
    #[serde(default)]
    pub error: String,
}

/// The notes' `User` as sent in a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub user_id: u32,
    pub user_pwd: String,
    pub user_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterMes {
    pub user: NewUser,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResMes {
    pub code: u16,
    #[serde(default)]
    pub error: String,
}

/// Someone came online or went offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyUserStatusMes {
    pub user_id: u32,
    #[serde(default)]
    pub user_name: String,
    /// [`status::ONLINE`] or [`status::OFFLINE`].
    pub status: u8,
}

/// A message to everyone online (the notes' group chat). The server fills in `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMes {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
}

/// A message to one user. The server fills in `user` (the sender).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateMes {
    pub to_user_id: u32,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
}

/// What became of a private message: delivered (200), stored (202), no such user (404).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateResMes {
    pub code: u16,
    pub to_user_id: u32,
    #[serde(default)]
    pub error: String,
}

/// A message that waited for its receiver; sent right after a successful login,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfflineMes {
    pub user: UserInfo,
    pub content: String,
    /// When the server stored it, Unix milliseconds.
    pub sent_at: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutMes {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutResMes {
    pub code: u16,
}

/// A file is coming: its name, size and SHA-256, then chunks, then done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileOfferMes {
    pub to_user_id: u32,
    pub file_id: u32,
    pub file_name: String,
    pub size: u64,
    /// Hex SHA-256 of the whole file.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChunkMes {
    pub to_user_id: u32,
    pub file_id: u32,
    pub seq: u32,
    /// The chunk's bytes in standard base64.
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDoneMes {
    pub to_user_id: u32,
    pub file_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
}

/// The receiver's verdict on a file (200, or 422 when size or checksum differ),
/// or the server's (404 when the receiver is not online).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileResMes {
    pub to_user_id: u32,
    pub file_id: u32,
    pub code: u16,
    #[serde(default)]
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
}

/// Something the server could not accept, with a code and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMes {
    pub code: u16,
    pub error: String,
}

/// How a frame carries `data`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DataForm {
    /// The notes' form: a JSON string holding the struct's JSON.
    #[default]
    String,
    /// A nested JSON object.
    Object,
}

impl DataForm {
    /// `string` or `object`, as in JSON and on the command line.
    pub fn word(self) -> &'static str {
        match self {
            DataForm::String => "string",
            DataForm::Object => "object",
        }
    }
}

/// The notes' `Message`, as [`DataForm::String`] puts it on the wire: the type
/// first, then the data's JSON as a string, the order Go's `json.Marshal` keeps.
#[derive(Serialize)]
struct StringForm<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: &'a str,
}

/// Every message of the protocol, tagged as `{"type": <variant>, "data": <struct>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Message {
    LoginMes(LoginMes),
    LoginResMes(LoginResMes),
    RegisterMes(RegisterMes),
    RegisterResMes(RegisterResMes),
    NotifyUserStatusMes(NotifyUserStatusMes),
    SmsMes(SmsMes),
    PrivateMes(PrivateMes),
    PrivateResMes(PrivateResMes),
    OfflineMes(OfflineMes),
    LogoutMes(LogoutMes),
    LogoutResMes(LogoutResMes),
    FileOfferMes(FileOfferMes),
    FileChunkMes(FileChunkMes),
    FileDoneMes(FileDoneMes),
    FileResMes(FileResMes),
    ErrorMes(ErrorMes),
}

/// The type names, in the order of [`Message`].
pub const TYPES: [&str; 16] = [
    "LoginMes",
    "LoginResMes",
    "RegisterMes",
    "RegisterResMes",
    "NotifyUserStatusMes",
    "SmsMes",
    "PrivateMes",
    "PrivateResMes",
    "OfflineMes",
    "LogoutMes",
    "LogoutResMes",
    "FileOfferMes",
    "FileChunkMes",
    "FileDoneMes",
    "FileResMes",
    "ErrorMes",
];

/// Why a frame body is not a message we can act on.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error(
        "the frame is not UTF-8 (invalid byte at offset {valid_up_to}): frames carry JSON text"
    )]
    InvalidUtf8 { valid_up_to: usize },
    #[error("the frame is not JSON: {0}")]
    InvalidJson(serde_json::Error),
    #[error("the frame is JSON but not a message: expected {{\"type\": \"…\", \"data\": {{…}}}}")]
    NotAMessage,
    #[error("unknown message type {0:?}; known types: {types}", types = TYPES.join(", "))]
    UnknownType(String),
    #[error("bad data for {kind}: {error}")]
    BadData {
        kind: String,
        error: serde_json::Error,
    },
}

impl MessageError {
    /// The result code of the error frame that answers it.
    pub fn code(&self) -> u16 {
        match self {
            MessageError::UnknownType(_) => code::UNKNOWN_TYPE,
            _ => code::BAD_REQUEST,
        }
    }
}

impl Message {
    /// Parses a frame body, in either form.
    pub fn parse(body: &[u8]) -> Result<Message, MessageError> {
        Message::parse_with_form(body).map(|(message, _)| message)
    }

    /// Parses a frame body and says which form its `data` had (`None` when the
    /// body has no `data`, as a bare `{"type":"LogoutMes"}`).
    pub fn parse_with_form(body: &[u8]) -> Result<(Message, Option<DataForm>), MessageError> {
        let text = std::str::from_utf8(body).map_err(|e| MessageError::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let value: Value = serde_json::from_str(text).map_err(MessageError::InvalidJson)?;
        Message::from_value(value)
    }

    /// Builds a message from a parsed JSON value (see [`Message::parse_with_form`]).
    pub fn from_value(value: Value) -> Result<(Message, Option<DataForm>), MessageError> {
        let Value::Object(mut object) = value else {
            return Err(MessageError::NotAMessage);
        };
        let kind = match object.remove("type") {
            Some(Value::String(kind)) => kind,
            _ => return Err(MessageError::NotAMessage),
        };
        if !TYPES.contains(&kind.as_str()) {
            return Err(MessageError::UnknownType(kind));
        }
        let (data, form) = match object.remove("data") {
            // The notes' form: data is a JSON string holding the struct.
            Some(Value::String(inner)) => {
                let data = serde_json::from_str(&inner).map_err(|error| MessageError::BadData {
                    kind: kind.clone(),
                    error,
                })?;
                (data, Some(DataForm::String))
            }
            Some(data) => (data, Some(DataForm::Object)),
            None => (Value::Object(Default::default()), None),
        };
        let tagged = serde_json::json!({ "type": kind, "data": data });
        let message = serde_json::from_value(tagged)
            .map_err(|error| MessageError::BadData { kind, error })?;
        Ok((message, form))
    }

    /// The frame body in the notes' form ([`DataForm::String`]).
    pub fn to_json(&self) -> Vec<u8> {
        self.to_json_in(DataForm::String)
    }

    /// The frame body with `data` in `form`.
    pub fn to_json_in(&self, form: DataForm) -> Vec<u8> {
        // Serialising these plain structs cannot fail.
        match form {
            DataForm::Object => serde_json::to_vec(self).unwrap_or_default(),
            DataForm::String => serde_json::to_vec(&StringForm {
                kind: self.type_name(),
                data: &self.data_json(),
            })
            .unwrap_or_default(),
        }
    }

    /// The JSON of the inner struct alone (what the notes put into `data`).
    fn data_json(&self) -> String {
        macro_rules! inner_json {
            ($($variant:ident),*) => {
                match self {
                    $(Message::$variant(m) => serde_json::to_string(m),)*
                }
            };
        }
        inner_json!(
            LoginMes,
            LoginResMes,
            RegisterMes,
            RegisterResMes,
            NotifyUserStatusMes,
            SmsMes,
            PrivateMes,
            PrivateResMes,
            OfflineMes,
            LogoutMes,
            LogoutResMes,
            FileOfferMes,
            FileChunkMes,
            FileDoneMes,
            FileResMes,
            ErrorMes
        )
        .unwrap_or_default()
    }

    /// The whole frame in the notes' form: length prefix and JSON.
    pub fn to_frame(&self) -> bytes::Bytes {
        self.to_frame_in(DataForm::String)
    }

    /// The whole frame with `data` in `form`.
    pub fn to_frame_in(&self, form: DataForm) -> bytes::Bytes {
        super::frame::encode_frame(&self.to_json_in(form))
    }

    /// The type name, e.g. `LoginMes`.
    pub fn type_name(&self) -> &'static str {
        let i = match self {
            Message::LoginMes(_) => 0,
            Message::LoginResMes(_) => 1,
            Message::RegisterMes(_) => 2,
            Message::RegisterResMes(_) => 3,
            Message::NotifyUserStatusMes(_) => 4,
            Message::SmsMes(_) => 5,
            Message::PrivateMes(_) => 6,
            Message::PrivateResMes(_) => 7,
            Message::OfflineMes(_) => 8,
            Message::LogoutMes(_) => 9,
            Message::LogoutResMes(_) => 10,
            Message::FileOfferMes(_) => 11,
            Message::FileChunkMes(_) => 12,
            Message::FileDoneMes(_) => 13,
            Message::FileResMes(_) => 14,
            Message::ErrorMes(_) => 15,
        };
        TYPES[i]
    }

    /// Which end sends this type: `Some(true)` only the server (answers and
    /// notifications), `Some(false)` only the client (login, register, logout),
    /// `None` both (chat text and files, which the server forwards).
    pub fn sent_by_server(&self) -> Option<bool> {
        match self {
            Message::LoginResMes(_)
            | Message::RegisterResMes(_)
            | Message::NotifyUserStatusMes(_)
            | Message::PrivateResMes(_)
            | Message::OfflineMes(_)
            | Message::LogoutResMes(_)
            | Message::ErrorMes(_) => Some(true),
            Message::LoginMes(_) | Message::RegisterMes(_) | Message::LogoutMes(_) => Some(false),
            Message::SmsMes(_)
            | Message::PrivateMes(_)
            | Message::FileOfferMes(_)
            | Message::FileChunkMes(_)
            | Message::FileDoneMes(_)
            | Message::FileResMes(_) => None,
        }
    }

    /// For the file messages: sets the sender and returns (receiver, file id).
    pub fn stamp_file_sender(&mut self, sender: UserInfo) -> Option<(u32, u32)> {
        let (user, to, file_id) = match self {
            Message::FileOfferMes(m) => (&mut m.user, m.to_user_id, m.file_id),
            Message::FileChunkMes(m) => (&mut m.user, m.to_user_id, m.file_id),
            Message::FileDoneMes(m) => (&mut m.user, m.to_user_id, m.file_id),
            Message::FileResMes(m) => (&mut m.user, m.to_user_id, m.file_id),
            _ => return None,
        };
        *user = Some(sender);
        Some((to, file_id))
    }

    /// One line for people: what the message says, passwords left out.
    pub fn describe(&self) -> String {
        // " from alice (100)" once the server has filled in the sender.
        fn who(user: &Option<UserInfo>) -> String {
            user.as_ref()
                .map_or_else(String::new, |u| format!(" from {}", u.label()))
        }
        match self {
            Message::LoginMes(m) => format!("LoginMes user {}", m.user_id),
            Message::LoginResMes(m) if m.code == code::OK => format!(
                "LoginResMes 200 {}: online {:?}, {}",
                m.user_name,
                m.users_id,
                plural(m.offline, "offline message", "offline messages")
            ),
            Message::LoginResMes(m) => format!("LoginResMes {} {}", m.code, m.error),
            Message::RegisterMes(m) => {
                format!(
                    "RegisterMes {}",
                    UserInfo::label_of(m.user.user_id, &m.user.user_name)
                )
            }
            Message::RegisterResMes(m) => format!("RegisterResMes {} {}", m.code, m.error),
            Message::NotifyUserStatusMes(m) => format!(
                "NotifyUserStatusMes {} is {}",
                UserInfo::label_of(m.user_id, &m.user_name),
                if m.status == status::ONLINE {
                    "online"
                } else {
                    "offline"
                }
            ),
            Message::SmsMes(m) => format!("SmsMes{}: {}", who(&m.user), m.content),
            Message::PrivateMes(m) => format!(
                "PrivateMes{} to {}: {}",
                who(&m.user),
                m.to_user_id,
                m.content
            ),
            Message::PrivateResMes(m) => {
                format!("PrivateResMes {} to {} {}", m.code, m.to_user_id, m.error)
            }
            Message::OfflineMes(m) => {
                format!("OfflineMes from {}: {}", m.user.label(), m.content)
            }
            Message::LogoutMes(_) => "LogoutMes".into(),
            Message::LogoutResMes(m) => format!("LogoutResMes {}", m.code),
            Message::FileOfferMes(m) => format!(
                "FileOfferMes #{} {:?} ({}){} to {}",
                m.file_id,
                m.file_name,
                plural(m.size, "byte", "bytes"),
                who(&m.user),
                m.to_user_id
            ),
            Message::FileChunkMes(m) => format!(
                "FileChunkMes #{} chunk {} ({} base64 chars)",
                m.file_id,
                m.seq,
                m.data.len()
            ),
            Message::FileDoneMes(m) => format!("FileDoneMes #{}", m.file_id),
            Message::FileResMes(m) => format!("FileResMes #{} {} {}", m.file_id, m.code, m.error),
            Message::ErrorMes(m) => format!("ErrorMes {} {}", m.code, m.error),
        }
        .trim_end()
        .to_string()
    }

    /// An error frame's message.
    pub fn error(code: u16, error: impl Into<String>) -> Message {
        Message::ErrorMes(ErrorMes {
            code,
            error: error.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_mes_reads_as_in_the_notes() {
        let m = Message::LoginMes(LoginMes {
            user_id: 100,
            user_pwd: "123456".into(),
            user_name: String::new(),
        });
        // What the notes' client marshals: the struct's JSON as a string.
        assert_eq!(
            String::from_utf8(m.to_json()).unwrap(),
            r#"{"type":"LoginMes","data":"{\"userId\":100,\"userPwd\":\"123456\",\"userName\":\"\"}"}"#
        );
        assert_eq!(
            Message::parse_with_form(&m.to_json()).unwrap(),
            (m.clone(), Some(DataForm::String))
        );
        assert_eq!(
            String::from_utf8(m.to_json_in(DataForm::Object)).unwrap(),
            r#"{"type":"LoginMes","data":{"userId":100,"userPwd":"123456","userName":""}}"#
        );
        assert_eq!(
            Message::parse_with_form(&m.to_json_in(DataForm::Object)).unwrap(),
            (m, Some(DataForm::Object))
        );
    }

    /// Every type, in both forms, reads back as itself, and the string form's
    /// `data` is a string (what a Go client typed `Data string` needs).
    #[test]
    fn every_type_round_trips_in_both_forms() {
        let user = Some(UserInfo {
            user_id: 100,
            user_name: "alice".into(),
        });
        let samples = [
            Message::RegisterResMes(RegisterResMes {
                code: 200,
                error: String::new(),
            }),
            Message::LoginResMes(LoginResMes {
                code: 200,
                users_id: vec![100, 200],
                users: vec![],
                user_name: "alice".into(),
                offline: 1,
                error: String::new(),
            }),
            Message::SmsMes(SmsMes {
                content: "say \"hi\"\n".into(),
                user: user.clone(),
            }),
            Message::LogoutMes(LogoutMes {}),
            Message::FileDoneMes(FileDoneMes {
                to_user_id: 200,
                file_id: 1,
                user,
            }),
            Message::error(503, "going away"),
        ];
        for m in samples {
            let v: Value = serde_json::from_slice(&m.to_json()).unwrap();
            assert!(v["data"].is_string(), "{v}");
            for form in [DataForm::String, DataForm::Object] {
                let (back, seen) = Message::parse_with_form(&m.to_json_in(form)).unwrap();
                assert_eq!((back, seen), (m.clone(), Some(form)));
            }
        }
    }

    #[test]
    fn data_as_a_json_string_is_accepted() {
        let body = br#"{"type":"LoginMes","data":"{\"userId\":100,\"userPwd\":\"123456\"}"}"#;
        let Message::LoginMes(login) = Message::parse(body).unwrap() else {
            panic!("not a LoginMes")
        };
        assert_eq!(login.user_id, 100);
        assert_eq!(login.user_pwd, "123456");
    }

    #[test]
    fn logout_without_data() {
        assert_eq!(
            Message::parse_with_form(br#"{"type":"LogoutMes"}"#).unwrap(),
            (Message::LogoutMes(LogoutMes {}), None)
        );
    }

    #[test]
    fn type_names_match_serde() {
        let samples = [
            Message::LogoutMes(LogoutMes {}),
            Message::error(400, "x"),
            Message::SmsMes(SmsMes {
                content: "hi".into(),
                user: None,
            }),
        ];
        for m in samples {
            let v: Value = serde_json::from_slice(&m.to_json()).unwrap();
            assert_eq!(v["type"], m.type_name());
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = Message::parse(b"\xff\xfe").unwrap_err();
        assert_eq!(e.code(), 400);
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        let e = Message::parse(b"{nope").unwrap_err();
        assert!(e.to_string().starts_with("the frame is not JSON"), "{e}");
        let e = Message::parse(b"[1,2]").unwrap_err();
        assert!(matches!(e, MessageError::NotAMessage));
        let e = Message::parse(br#"{"type":"HackMes","data":{}}"#).unwrap_err();
        assert_eq!(e.code(), 501);
        assert!(e
            .to_string()
            .starts_with("unknown message type \"HackMes\"; known types: LoginMes, "));
        let e = Message::parse(br#"{"type":"LoginMes","data":{"userId":"x"}}"#).unwrap_err();
        assert!(e.to_string().starts_with("bad data for LoginMes: "), "{e}");
    }
}
