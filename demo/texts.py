"""Ticket wording for the demo MSP: many phrasings per kind, so classifiers cannot memorise one template."""

from __future__ import annotations

import random

# Standard requests: (PSA category, subject templates, description templates, standard scope id).
STANDARD: list[tuple[str, str, list[str], list[str]]] = [
    (
        "login_password",
        "Account & Access",
        [
            "Password reset for {user}",
            "Locked out of my account",
            "Can't log in after password change",
            "MFA code not arriving on my phone",
            "Account locked again",
            "Need my password reset please",
            "Forgot password for the HR portal",
        ],
        [
            "Hi, I tried to log in this morning and it says my account is locked. Can you unlock it?",
            "I changed my password yesterday and now my laptop won't accept it.",
            "The authenticator app stopped giving me codes after I changed phones.",
            "Please reset my password, I have been locked out since {time}.",
        ],
    ),
    (
        "email_account",
        "Email",
        [
            "Shared mailbox access for {user}",
            "Out of office not turning off",
            "Add email alias for sales team",
            "Emails to a supplier bouncing",
            "Calendar sharing with assistant",
            "Distribution list update",
            "Outlook keeps asking for password",
        ],
        [
            "Could you give {user} access to the accounts@ shared mailbox?",
            "My out of office reply is still on even though I switched it off.",
            "Messages to one external address come back with a delivery failure.",
            "Please add the two new hires to the sales distribution list.",
        ],
    ),
    (
        "software_troubleshooting",
        "Software",
        [
            "Excel crashes when opening large files",
            "Teams has no audio in meetings",
            "Adobe Reader won't print",
            "Update failed on my laptop",
            "App freezes when exporting to PDF",
            "Browser extension missing after update",
            "Accounting app shows error 0x80070005",
        ],
        [
            "Every time I open the monthly report Excel closes without a message.",
            "People can't hear me in Teams, the microphone works in other apps.",
            "The update has been stuck at 45% since yesterday.",
            "When I export the invoice to PDF the program stops responding for {user}.",
        ],
    ),
    (
        "remote_desktop",
        "Remote Access",
        [
            "Remote desktop session disconnects",
            "VPN drops every hour",
            "Help connecting to office PC from home",
            "RDP black screen after login",
        ],
        [
            "When working from home the VPN drops roughly every hour and I have to reconnect.",
            "I get a black screen when I connect to my office desktop.",
            "Could someone help me set up remote access to my office computer?",
        ],
    ),
    (
        "small_configuration",
        "Configuration",
        [
            "Set up printer on new laptop",
            "Change default browser to Chrome",
            "Map the finance drive for {user}",
            "Move one user's bookmarks to the new PC",
            "Install second monitor drivers",
            "Migrate my Outlook signature to the new laptop",
            "Add scanner shortcut to desktop",
        ],
        [
            "I got a new laptop and need the office printer added.",
            "Please map the S: drive for {user}, she started in finance this week.",
            "Can you copy my browser bookmarks over to the new PC?",
            "The second screen is detected but shows a low resolution.",
        ],
    ),
    (
        "user_provisioning",
        "User Admin",
        [
            "New starter: {user} on Monday",
            "Leaver: disable account for {user}",
            "Create accounts for two new hires",
            "Offboarding request for {user}",
            "Licence for new team member",
        ],
        [
            "{user} starts on Monday in operations, needs email, laptop login and Teams.",
            "{user} left on Friday, please disable the account and forward mail to the manager.",
            "Two new starters next week; same access as the rest of the sales team.",
        ],
    ),
    (
        "routine_platform_question",
        "How-to",
        [
            "How do I share a folder in SharePoint?",
            "Where is the expense form template?",
            "Question about OneDrive sync",
            "How to book the meeting room display",
            "Can I install Zoom myself?",
        ],
        [
            "Quick question: how do I share a SharePoint folder with an external accountant?",
            "Is there a way to see which files OneDrive has not synced yet?",
            "Am I allowed to install the Zoom client on my work laptop?",
        ],
    ),
]

# Service interruptions reported by many users at once: (service, category, subjects).
INTERRUPTIONS: list[tuple[str, str, list[str]]] = [
    (
        "email",
        "Email",
        [
            "Email down?",
            "Outlook not working",
            "Can't send or receive email",
            "Email outage",
            "Is email down for everyone?",
            "Mail stopped working",
        ],
    ),
    (
        "internet",
        "Network",
        [
            "Internet down in office",
            "No internet",
            "Wifi not working",
            "Network unavailable",
            "Cannot connect to anything",
            "Connection keeps dropping",
        ],
    ),
    (
        "erp",
        "Software",
        [
            "ERP not loading",
            "Order system unavailable",
            "Cannot access the ERP",
            "ERP error for everyone",
            "Stock system not responding",
        ],
    ),
    (
        "file_server",
        "Network",
        [
            "Shared drive unavailable",
            "S: drive not working",
            "Can't access the file server",
            "Files offline",
            "Network drive disconnected",
        ],
    ),
]

SECURITY: list[tuple[str, str]] = [
    (
        "Suspicious login on my account",
        "I got an alert about a sign-in from another country and I did not do it.",
    ),
    (
        "Clicked a phishing link",
        "I entered my password on a page that looked like Microsoft, then realised it was fake.",
    ),
    (
        "Ransomware warning on PC",
        "A message says my files are encrypted and asks for payment. Other shares look odd too.",
    ),
    (
        "Possible account compromise",
        "Colleagues received emails from me that I never sent, with a strange invoice link.",
    ),
]

MONITORING: list[str] = [
    "[ALERT] Disk C: at {pct}% on {host}",
    "[ALERT] Backup job failed on {host}",
    "[WARN] High CPU on {host} for 15 minutes",
    "[ALERT] {host} not responding to ping",
    "[WARN] Certificate expiring in 14 days on {host}",
    "[ALERT] Antivirus definitions out of date on {host}",
]

HOSTS = ["SRV-FS01", "SRV-DC01", "SRV-APP02", "FW-EDGE", "NAS01", "SRV-SQL01", "WS-RECEPTION"]

# Out-of-scope work. Each category has clauses combined at random, so wording varies freely.
OUT_OF_SCOPE: dict[str, dict[str, list[str]]] = {
    "major_migration": {
        "subject": [
            "Migrate all mailboxes to Microsoft 365",
            "Move the file server to SharePoint Online",
            "Cut the accounts system over to the new cloud platform",
            "Tenant-to-tenant migration after the merger",
            "Relocate every user's data off the old domain",
            "Google Workspace to Microsoft 365 move",
        ],
        "body": [
            "We want to move the whole company ({n} users) to the new platform before the end of"
            " the quarter.",
            "All shared drives and home folders need to be transferred to the cloud, including"
            " permissions.",
            "Please plan the migration of every mailbox and archive; we also need a cutover"
            " weekend.",
            "Our auditors want the legacy server retired, so everything on it has to be moved.",
        ],
    },
    "custom_implementation": {
        "subject": [
            "Build a custom onboarding workflow in Power Automate",
            "Implement bespoke approval process for purchase orders",
            "Design and roll out a tailored intranet",
            "Custom integration between CRM and accounting",
        ],
        "body": [
            "We need a solution designed around our process, with forms, approvals and reporting.",
            "Could you implement an automated flow that creates accounts from the HR system?",
            "This needs to be built specifically for us, a standard template will not work.",
        ],
    },
    "custom_software": {
        "subject": [
            "Develop a small app for field technicians",
            "Write a script-based tool to sync our price lists",
            "Custom software for warehouse scanning",
            "Build an API connector for our booking system",
        ],
        "body": [
            "We'd like a piece of software developed that our field staff can use on tablets.",
            "Please write and deploy a program that pulls prices from the supplier feed nightly.",
            "The tool must be coded from scratch; nothing on the market does what we need.",
        ],
    },
    "major_remediation": {
        "subject": [
            "Clean up after the ransomware incident",
            "Rebuild all servers after the breach",
            "Remediate the findings of the penetration test",
            "Fix every workstation failing the security baseline",
        ],
        "body": [
            "The pen test found {n} issues across the network; we need all of them fixed.",
            "After last month's incident every server has to be rebuilt and hardened.",
            "We need a full remediation programme, not a quick patch.",
        ],
    },
    "compliance_documentation": {
        "subject": [
            "Write our ISO 27001 policies",
            "Prepare Cyber Essentials documentation",
            "SOC 2 evidence pack for the auditors",
            "GDPR records of processing activities",
            "HIPAA security documentation",
        ],
        "body": [
            "The auditor needs a full set of written policies and evidence by next month.",
            "Please draft the documentation pack for our certification, including asset register"
            " and risk assessment.",
            "We have to produce compliance paperwork describing all our IT controls.",
        ],
    },
    "platform_implementation": {
        "subject": [
            "Roll out Intune for the whole company",
            "Implement a new phone system for all offices",
            "Deploy Microsoft 365 from scratch",
            "Set up Azure Virtual Desktop for everyone",
        ],
        "body": [
            "We are replacing the current platform completely and need it implemented end to end.",
            "Every device in the company should be enrolled and configured on the new platform.",
            "Full deployment including design, configuration, pilot and company-wide rollout.",
        ],
    },
    "procurement": {
        "subject": [
            "Quote for 15 new laptops",
            "Please order three docking stations",
            "Buy licences for Adobe Acrobat",
            "Source a replacement firewall",
            "Purchase new monitors for the sales team",
        ],
        "body": [
            "Could you get us prices and order the hardware once we approve?",
            "We need to buy {n} devices; please arrange purchasing and delivery.",
            "Please procure the licences and send us the invoice.",
        ],
    },
    "onsite": {
        "subject": [
            "Technician needed at the office",
            "Please send someone to fix the meeting room screen",
            "Site visit to rewire the comms cabinet",
            "Can an engineer come in on Thursday?",
            "Install new access points at the warehouse",
        ],
        "body": [
            "This needs someone physically here, the cabling in the server room is a mess.",
            "Please book an engineer to visit our site and install the new hardware.",
            "An in-person visit is required; the device has to be replaced on site.",
        ],
    },
    "structured_project": {
        "subject": [
            "Office move project: 40 desks to new floor",
            "Network refresh project across three sites",
            "Phase 2 of the infrastructure upgrade",
            "Project: replace all switches",
        ],
        "body": [
            "This is a project with several phases; we need a plan, milestones and a project"
            " manager.",
            "Please scope the work, give us a timeline and run it as a project.",
            "We need a proper project plan with deliverables for the upgrade.",
        ],
    },
    "planned_after_hours": {
        "subject": [
            "Schedule server patching on Saturday night",
            "Firewall upgrade outside business hours",
            "Weekend maintenance window for the database",
            "Please do the switch replacement after we close",
        ],
        "body": [
            "We cannot have downtime during the day, so please do this work at the weekend.",
            "Plan it for after 8pm when nobody is working.",
            "The change has to happen in a maintenance window outside office hours.",
        ],
    },
}

# Categories that out-of-scope requests are filed under by clients or triage (often generic).
OUT_OF_SCOPE_CATEGORY: dict[str, list[str]] = {
    "major_migration": ["Email", "Project", "Other"],
    "custom_implementation": ["Software", "Project", "Other"],
    "custom_software": ["Software", "Other"],
    "major_remediation": ["Security", "Project"],
    "compliance_documentation": ["Other", "Security"],
    "platform_implementation": ["Project", "Configuration"],
    "procurement": ["Procurement", "Hardware"],
    "onsite": ["Hardware", "Network"],
    "structured_project": ["Project"],
    "planned_after_hours": ["Network", "Configuration"],
}

FIRST_NAMES = [
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kai",
    "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Xena", "Yusuf", "Zoe", "Liam", "Mia", "Noah", "Emma", "Lucas", "Sofia",
]
LAST_NAMES = [
    "Silva", "Okafor", "Smith", "Müller", "Tanaka", "Dubois", "Kowalski", "Nguyen", "Patel",
    "Johansson", "Rossi", "Garcia", "Brown", "Kim", "Cohen", "O'Neil", "Haddad", "Novak",
]


def fill(template: str, rng: random.Random, user: str = "") -> str:
    """Fill a template's slots with plausible values."""
    return template.format(
        user=user or rng.choice(FIRST_NAMES),
        time=f"{rng.randint(7, 11)}:{rng.choice(['00', '15', '30', '45'])}",
        n=rng.choice([12, 25, 40, 60, 85, 120]),
        pct=rng.randint(88, 99),
        host=rng.choice(HOSTS),
    )


def out_of_scope_text(category: str, rng: random.Random) -> tuple[str, str]:
    """A subject and description for out-of-scope work, combined from clauses."""
    parts = OUT_OF_SCOPE[category]
    subject = fill(rng.choice(parts["subject"]), rng)
    body = " ".join(fill(b, rng) for b in rng.sample(parts["body"], k=min(2, len(parts["body"]))))
    return subject, body
