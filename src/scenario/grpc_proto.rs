//! The messages of `proto/greeter.proto` as `prost` types and the service's
//! method paths, for the scenario's server and client. They live with the
//! dissector, which decodes captured messages with the same types
//! ([`crate::dissect::protobuf`]); the types are generated from the `.proto`
//! without `protoc` and checked in (see `tests/proto_codegen.rs`).

pub use crate::dissect::protobuf::greet::{
    CountdownRequest, EchoMessage, HelloReply, HelloRequest, Tick,
};
pub use crate::dissect::protobuf::known::{COUNTDOWN, DEADLINE, ECHO, SAY_HELLO, SLOW};
