// English strings of the administration pages (src/admin), merged into the main catalogue.
export const enAdmin = {
  "admin.title": "Administration",
} as const;
