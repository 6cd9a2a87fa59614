// The Node.js comparison of `make bench`: fastify and jose doing what GET /api/v1/me does (a
// bearer token verified against the issuer's JWKS, issuer and audience checked, the claims
// returned as JSON), one process. Reads ISSUER, AUDIENCE, JWKS_URL and PORT.
import Fastify from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const { ISSUER, AUDIENCE, JWKS_URL, PORT } = process.env;
const keys = createRemoteJWKSet(new URL(JWKS_URL));
const app = Fastify({ logger: false });

app.get('/api/v1/me', async (request, reply) => {
  const authorization = request.headers.authorization ?? '';
  if (!authorization.startsWith('Bearer ')) {
    return reply.code(401).send({ error: 'missing bearer token' });
  }
  try {
    const { payload } = await jwtVerify(authorization.slice(7), keys, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
    });
    return { message: 'Access granted', user: payload };
  } catch {
    return reply.code(401).send({ error: 'invalid token' });
  }
});

await app.listen({ port: Number(PORT), host: '127.0.0.1' });
