import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError } from 'fastify';
import { errorBody } from './errors';
import type { ErrorStatus } from './schemas';

const BY_CODE: Record<string, [ErrorStatus, string]> = {
  // the header or the request timeout passed (a slow or stalled client)
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request did not arrive in time'],
  HPE_HEADER_OVERFLOW: [431, 'the request line and headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'the chunk extensions are too large'],
};

/**
 * Errors Node's HTTP parser and timeouts raise on a connection, before fastify sees a request: answered raw, in the
 * documented body, and the connection is closed (fastify's `clientErrorHandler` option; its default writes its own
 * body shape).
 */
export function clientErrorHandler(err: ConnectionError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = BY_CODE[err.code] ?? [400, 'the request is not valid HTTP'];
  // as Node's own handler: no raw answer once a response on this connection has begun, it would corrupt that one
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(errorBody(status, message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
