// A real OpenID provider (the certified `oidc-provider` package) on loopback for the SSO tests.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 1234, "clients": [{"client_id", "client_secret", "redirect_uris",
// "misbehave"?: "wrong-audience" | "expired"}], "accounts": {"<login>": {"email": "..."}}}
//
// Accounts sign in at the provider's development login page (any password) and are known
// by their login name, which is also their `sub`. Prints "ready <issuer>" when it listens.
//
// Two kinds of deliberately misbehaving clients let the tests prove that the relying party
// checks the ID token itself instead of trusting the provider: the provider signs, with its
// real keys, an ID token that is addressed to another client ("wrong-audience") or that expired
// ten minutes before it was issued to the relying party ("expired"). Nothing else changes.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts;

/** The client whose audience a "wrong-audience" client's ID tokens carry. */
const BYSTANDER = 'bystander-app';

const clients = [
  ...config.clients.map(({ misbehave, ...client }) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    ...client,
  })),
  {
    client_id: BYSTANDER,
    client_secret: 'bystander-secret-of-no-importance',
    redirect_uris: ['http://localhost/unused'],
  },
];
const misbehaving = new Map(
  config.clients.filter((c) => c.misbehave).map((c) => [c.client_id, c.misbehave]),
);

const provider = new Provider(issuer, {
  clients,
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  cookies: { keys: ['wellness-test-cookie-key-one', 'wellness-test-cookie-key-two'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: account.email, email_verified: true };
      },
    };
  },
});

const { IdToken } = provider;
const issue = IdToken.prototype.issue;
IdToken.prototype.issue = async function issueForTests(options = {}) {
  const mode = options.use === 'idtoken' ? misbehaving.get(this.client.clientId) : undefined;
  if (mode === 'wrong-audience') {
    this.client = await provider.Client.find(BYSTANDER);
  } else if (mode === 'expired') {
    const now = Math.floor(Date.now() / 1000);
    this.set('iat', now - 1200);
    return issue.call(this, { ...options, expiresAt: now - 600 });
  }
  return issue.call(this, options);
};

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
