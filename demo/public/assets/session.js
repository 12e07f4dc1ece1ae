// Shows who is logged in, from GET /auth/session (200 with the user, or 401).
// The login button speaks the visitor's language: the first of Norwegian (bokmål, for nb, no
// and nn) or English in the browser's list, with the guidelines' approved texts.
(() => {
  const login = document.getElementById("login");
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  const first = langs.map((l) => l.toLowerCase().split("-")[0]).find((l) => ["nb", "no", "nn", "en"].includes(l));
  if (login && first && first !== "en") {
    login.textContent = "Logg inn med Vipps";
    login.lang = "nb";
  }
})();
(async () => {
  const status = document.getElementById("status");
  const profile = document.getElementById("profile");
  const login = document.getElementById("login");
  try {
    const res = await fetch("/auth/session", { headers: { accept: "application/json" }, credentials: "same-origin" });
    if (res.ok) {
      const user = await res.json();
      status.textContent = `Logged in as ${user.name || user.sub}`;
      status.dataset.state = "logged-in";
      status.dataset.sub = user.sub;
      if (profile) profile.textContent = JSON.stringify(user, null, 2);
      if (login) login.hidden = true;
    } else {
      status.textContent = "You are not logged in.";
      status.dataset.state = "logged-out";
    }
  } catch (e) {
    status.textContent = "Could not check your session.";
    status.dataset.state = "error";
  }
})();
