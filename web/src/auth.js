// Logging in: GET /api/v1/auth/me says who we are; a 401 shows #login, whose form posts
// username/password to /api/v1/auth/token for a bearer token (kept by the API client).
const $ = (id) => document.getElementById(id);

export function createAuth({ api, onLoggedIn, onLoggedOut }) {
  const form = $("login");
  const err = $("login-error");
  const user = $("user");
  const logout = $("logout");

  // A share link opened while logged out says what it is, not just "Log in".
  function sayWhy() {
    const m = location.pathname.match(/^\/r\/([A-Za-z0-9_-]{1,64})\/?$/);
    $("login-title").textContent = m ? "Log in to see a shared run" : "Log in";
    $("login-context").textContent = m
      ? `Log in to see the run "${m[1]}" shared with you. It opens read-only; you can then edit a copy of it.`
      : "This server asks who you are before it runs code.";
  }

  function showLogin(message) {
    sayWhy();
    form.hidden = false;
    document.body.classList.add("needs-login");
    user.hidden = true;
    logout.hidden = true;
    if (message) {
      err.textContent = message;
      err.hidden = false;
    }
    $("login-user").focus();
  }

  function showUser(me) {
    form.hidden = true;
    document.body.classList.remove("needs-login");
    err.hidden = true;
    // With --no-auth there is no one to log out.
    const named = me && me.name && api.token;
    user.hidden = !named;
    logout.hidden = !api.token;
    user.textContent = named ? `Signed in as ${me.name}` : "";
  }

  // Who are we? Resolves to the user, or null after showing the form.
  let checking = false;
  async function check() {
    checking = true;
    try {
      const me = await api.get("/api/v1/auth/me");
      showUser(me);
      return me;
    } catch (e) {
      if (e.status === 401) {
        if (api.token) api.setToken("");
        showLogin("");
        return null;
      }
      throw e;
    } finally {
      checking = false;
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.hidden = true;
    const btn = $("login-submit");
    btn.disabled = true;
    try {
      const tok = await api.post("/api/v1/auth/token", {
        form: { username: $("login-user").value, password: $("login-pass").value },
      });
      api.setToken(tok.access_token);
      $("login-pass").value = "";
      const me = await check();
      if (me) onLoggedIn(me);
    } catch (ex) {
      err.textContent = ex.status === 401 || ex.status === 400 ? `Log-in failed: ${ex.message}` : ex.describe ? ex.describe() : String(ex);
      err.hidden = false;
    } finally {
      btn.disabled = false;
    }
  });

  logout.addEventListener("click", () => {
    api.setToken("");
    showLogin("You are logged out.");
    onLoggedOut();
  });

  api.onUnauthorized(() => {
    if (form.hidden && !checking) {
      api.setToken("");
      showLogin("Your session has ended: please log in again.");
      onLoggedOut();
    }
  });

  return { check };
}
