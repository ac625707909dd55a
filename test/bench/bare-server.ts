/**
 * The baseline: fastify with nothing but a POST handler returning a constant
 * JSON reply. It runs as a child process, exactly like the daemon, so both get
 * one core of their own while the load generator keeps the other.
 * Prints `{"port":N}` on stdout once listening; killed with SIGTERM.
 */
import Fastify from 'fastify';

const REPLY = { status: 202, message: 'PONG' };

const app = Fastify({ logger: false });
app.post('/v2/cce', async () => REPLY);
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
