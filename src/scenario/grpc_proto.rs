//! The messages of `proto/greeter.proto`, as `prost` types, and the service's
//! method paths. They are written by hand to match the file field for field
//! (the same derive `prost-build` emits), so building protolab needs neither
//! `protoc` nor a code generator; a change to the `.proto` is made here too.

/// `greet.HelloRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `greet.HelloReply`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    #[prost(string, tag = "1")]
    pub message: String,
}

/// `greet.CountdownRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CountdownRequest {
    #[prost(uint32, tag = "1")]
    pub from: u32,
}

/// `greet.Tick`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Tick {
    #[prost(uint32, tag = "1")]
    pub n: u32,
}

/// `greet.EchoMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoMessage {
    #[prost(string, tag = "1")]
    pub text: String,
}

/// Each method's HTTP/2 `:path`: `/package.Service/Method`.
pub const SAY_HELLO: &str = "/greet.Greeter/SayHello";
pub const COUNTDOWN: &str = "/greet.Greeter/Countdown";
pub const ECHO: &str = "/greet.Greeter/Echo";
pub const SLOW: &str = "/greet.Greeter/Slow";
