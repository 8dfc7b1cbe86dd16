"""Pages of the notice outbox: a reader's notice channels and language (a section of "my
library", saved at ``/me/notices``) and the outbox for staff holding ``notify.outbox.read``
(``/staff/notices``)."""
