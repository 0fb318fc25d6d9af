//! A close in a fixed order for connections whose library closes for us.
//!
//! hyper and tonic close an HTTP/2 connection when they are done with it, and
//! both ends are done at about the same time: after the client's GOAWAY either
//! side's FIN may leave first, and a GOAWAY that arrives after the client's
//! close() meets a closed socket, which answers with a RST. The scenario's
//! expectation (the client closes first) would then hold only by luck.
//! [`Lingering`] makes the order the protocol's: the client's side sends its FIN
//! when its library is done and keeps reading what still comes (a "lingering
//! close", as careful HTTP servers do), until the server's FIN; the server's side
//! holds its FIN until it has read the client's. Both drains are bounded by a
//! timeout, so a peer that never closes cannot keep a task alive for ever.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Which end of the connection a [`Lingering`] stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Closes first: FIN when its library is done, then reads until the peer's FIN.
    Client,
    /// Closes second: its FIN waits until the client's has been read.
    Server,
}

/// How long a closing side waits for its peer's FIN.
const DRAIN_FOR: Duration = Duration::from_secs(10);

/// A stream that closes in the order [`End`] says, whatever its user does.
pub(crate) struct Lingering<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    inner: Option<S>,
    end: End,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Lingering<S> {
    pub(crate) fn new(inner: S, end: End) -> Self {
        Lingering {
            inner: Some(inner),
            end,
        }
    }

    fn inner(&mut self) -> &mut S {
        self.inner.as_mut().expect("the stream is there until drop")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.inner()).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for Lingering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.inner()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.inner()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.end {
            End::Client => Pin::new(self.inner()).poll_shutdown(cx),
            // The server's FIN waits for the client's (see `drop`).
            End::Server => Pin::new(self.inner()).poll_flush(cx),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Drop for Lingering<S> {
    fn drop(&mut self) {
        let (Some(mut stream), Ok(runtime)) =
            (self.inner.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let end = self.end;
        runtime.spawn(async move {
            if end == End::Client {
                let _ = stream.shutdown().await;
            }
            // Read (and drop) what still comes, until the peer's FIN.
            let mut buf = [0u8; 4096];
            while let Ok(Ok(n)) = tokio::time::timeout(DRAIN_FOR, stream.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
            // Dropped here: the server's FIN leaves now, after the client's.
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    /// The server side holds its FIN until the client's came: the client reads
    /// EOF only after it closed its own side.
    #[tokio::test]
    async fn the_server_closes_after_the_client() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut server = Lingering::new(server, End::Server);
        server.write_all(b"bye").await.unwrap();
        server.shutdown().await.unwrap();
        drop(server);
        let mut client = client;
        let mut got = [0u8; 3];
        client.read_exact(&mut got).await.unwrap();
        // No EOF yet: the server's side has not sent its FIN.
        let early =
            tokio::time::timeout(Duration::from_millis(200), client.read(&mut [0u8; 1])).await;
        assert!(
            early.is_err(),
            "the server closed before the client: {early:?}"
        );
        client.shutdown().await.unwrap();
        let n = tokio::time::timeout(DRAIN_FOR, client.read(&mut [0u8; 1]))
            .await
            .expect("the server's FIN follows the client's")
            .unwrap();
        assert_eq!(n, 0);
    }
}
