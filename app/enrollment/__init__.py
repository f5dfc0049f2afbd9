"""Enrollment (CORE-7): the space's own sign-up flow — self-service with an
activation link, or a request reviewed by an agent, optionally with a printable
form — its requests, their history and the e-mails to the applicant; and the
account reset requests (« Réinitialisation de compte », CORE-11), reviewed the same way."""
